import ParkPluginKit

// atan2 for the heading; the C library's, rather than all of Foundation for one function.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One mobile robot (cleaning, delivery or patrol): the state machine behind ``MobileRobotKind``.
///
/// The robot does one thing at a time — stand idle, drive, work on a task, charge — unless an
/// emergency stop or a fault has stopped it; `state` says which, the stop and the fault first.
///
/// A drive is a straight line at constant speed with no acceleration, so `arrived` comes
/// exactly distance / speed after `drive`, and the position in between is interpolated from the
/// drive's start by the time spent moving. An obstacle pauses that clock: the robot stands
/// `blocked` and arrives exactly the obstacle's duration later. The drive's length is kept as
/// whole nanoseconds of moving time, so pauses never round the arrival away from that sum.
///
/// The battery is integrated exactly between events rather than stepped on a tick: whenever
/// anything happens (a command, a stimulus, a timer, a report) it is brought up to date by the
/// metres driven × drain_per_km and the hours spent standing (idle_drain), working (task_drain)
/// or charging (charge_rate) since the last time. The instants it will reach low_battery, 0
/// or 100 are predicted and timed, so those events are exact too, not a report late.
///
/// Timers cannot be cancelled, so the activity's timers (arrival, unblock, task end) carry one
/// generation and the battery's (low, empty, charged) another in their tag's upper 24 bits;
/// anything that changes the activity, or how fast the battery moves, starts a new generation
/// and the old timers are ignored when they fire.
final class MobileRobot: PluginDevice {
    typealias Timer = MobileRobotKind.Timer

    /// What `state` reports.
    enum State: String {
        case idle, driving, working, charging, blocked, fault, estop
    }

    /// What the robot is busy with when nothing has stopped it.
    private enum Activity {
        case idle, driving, blocked, working, charging
    }

    /// A drive under way: a straight segment travelled in `totalNanoseconds` of moving time.
    private struct Drive {
        var fromX: Double
        var fromY: Double
        var toX: Double
        var toY: Double
        var length: Double
        var speed: Double
        var totalNanoseconds: UInt64
        /// Moving time spent up to the last battery update; pauses do not count.
        var movedNanoseconds: UInt64 = 0
        var ref: String

        var fraction: Double { Double(movedNanoseconds) / Double(totalNanoseconds) }
        /// Metres per nanosecond of moving time: what the battery prediction drains by.
        var metresPerNanosecond: Double { length / Double(totalNanoseconds) }
    }

    /// A task under way.
    private struct Work {
        var type: String
        var ref: String
        /// m² credited when it finishes (clean tasks only).
        var area: Double
    }

    private let maxSpeed: Double
    private let drainPerKm: Double
    private let idleDrain: Double
    private let taskDrain: Double
    private let chargeRate: Double
    private let cleanRate: Double
    private let lowBattery: Double
    private let reportInterval: UInt64
    private let heartbeat: PluginHeartbeat

    private var x: Double
    private var y: Double
    private var theta: Double = 0
    private var battery: Double
    private var distance: Double = 0
    private var areaCleaned: Double = 0
    /// When the battery, position and distance were last brought up to date (ns).
    private var lastUpdate: UInt64 = 0

    private var activity = Activity.idle
    private var drive: Drive?
    private var work: Work?
    /// When the obstacle the robot is blocked by goes away (ns).
    private var blockedUntil: UInt64 = 0
    private var estopPressed = false
    /// The fault the robot is in (motor, localization, battery-empty); nil when none.
    private var faultReason: String?
    /// low-battery may fire: disarmed by firing, re-armed at rearmLevel so a battery hovering
    /// at the threshold raises one alarm, not one per wobble.
    private var lowBatteryArmed = true

    private var activityGeneration: UInt32 = 0
    private var batteryGeneration: UInt32 = 0

    private static let generationMask: UInt32 = 0xFF_FFFF
    /// A drive to the point the robot stands on still takes this long, so its `arrived` comes
    /// after the command's answer rather than inside it.
    private static let emptyDriveNanoseconds: UInt64 = 1_000_000
    private static let nanosecondsPerHour = 3_600e9

    init(config: PluginDeviceConfig) throws {
        maxSpeed = try config.double("max_speed")
        drainPerKm = try config.double("drain_per_km")
        idleDrain = try config.double("idle_drain")
        taskDrain = try config.double("task_drain")
        chargeRate = try config.double("charge_rate")
        cleanRate = try config.double("clean_rate")
        lowBattery = try config.double("low_battery")
        battery = try config.double("start_battery")
        x = try config.double("start_x")
        y = try config.double("start_y")
        reportInterval = try config.duration("report_interval")
        heartbeat = try PluginHeartbeat(config, tag: Timer.heartbeat.rawValue)

        // ParkBench checks a profile against the descriptor's ranges; these checks keep a device
        // created some other way (a C host, a test) from running on nonsense.
        try Self.require(maxSpeed > 0 && maxSpeed <= 10, config, "max_speed", maxSpeed, "more than 0 and at most 10 m/s")
        try Self.require((0 ... 100).contains(drainPerKm), config, "drain_per_km", drainPerKm, "between 0 and 100 %/km")
        try Self.require((0 ... 100).contains(idleDrain), config, "idle_drain", idleDrain, "between 0 and 100 %/h")
        try Self.require((0 ... 100).contains(taskDrain), config, "task_drain", taskDrain, "between 0 and 100 %/h")
        try Self.require(chargeRate > 0 && chargeRate <= 1000, config, "charge_rate", chargeRate, "more than 0 and at most 1000 %/h")
        try Self.require(cleanRate > 0 && cleanRate <= 100_000, config, "clean_rate", cleanRate, "more than 0 and at most 100000 m²/h")
        try Self.require((0 ... 90).contains(lowBattery), config, "low_battery", lowBattery, "between 0 and 90 %")
        try Self.require((0 ... 100).contains(battery), config, "start_battery", battery, "between 0 and 100 %")
        try Self.require(abs(x) <= 1_000_000, config, "start_x", x, "between -1000000 and 1000000 m")
        try Self.require(abs(y) <= 1_000_000, config, "start_y", y, "between -1000000 and 1000000 m")
        guard reportInterval > 0 else {
            throw PluginDeviceError("device '\(config.id)': parameter 'report_interval' must be longer than zero")
        }
    }

    func start(_ context: PluginContext) {
        lastUpdate = context.now
        // A robot switched on below the threshold is as much a low battery as one draining to it.
        checkLowBattery(context)
        // Random first phases keep a fleet from reporting in lock step.
        context.schedule(afterNanoseconds: UInt64(context.nextUnit() * Double(reportInterval)), tag: Timer.report.rawValue)
        heartbeat.start(context)
        planBattery(context)
    }

    func timerFired(tag: UInt32, _ context: PluginContext) {
        let generation = tag >> 8
        let activityCurrent = generation == activityGeneration & Self.generationMask
        let batteryCurrent = generation == batteryGeneration & Self.generationMask
        switch Timer(rawValue: tag & 0xFF) {
        case .heartbeat:
            heartbeat.beat(context, [stateReading])
        case .report:
            catchUp(context)
            context.emit(telemetry: [
                PluginReading("x", .double(x)), PluginReading("y", .double(y)), PluginReading("theta", .double(theta)),
                PluginReading("speed", .double(speed)), batteryReading,
                PluginReading("charging", .bool(activity == .charging)), PluginReading("driving", .bool(activity == .driving)),
                stateReading,
            ])
            context.schedule(afterNanoseconds: reportInterval, tag: Timer.report.rawValue)
        case .arrival:
            guard activityCurrent, activity == .driving else { return }
            arrive(context)
        case .unblock:
            guard activityCurrent, activity == .blocked else { return }
            unblock(context)
        case .taskEnd:
            guard activityCurrent, activity == .working else { return }
            finishTask(context)
        case .batteryEmpty:
            guard batteryCurrent else { return }
            catchUp(context)
            // The instant was predicted for exactly 0; what is left is rounding.
            battery = 0
            checkLowBattery(context)
            batteryRanOut(context)
        case .lowBattery:
            guard batteryCurrent else { return }
            catchUp(context)
            // Predicted for the instant the battery reaches the threshold: report it then, even
            // if rounding leaves it a hair above.
            if lowBatteryArmed, lowBattery > 0 { raiseLowBattery(context) }
        case .charged:
            guard batteryCurrent, activity == .charging else { return }
            catchUp(context)
            battery = 100
            checkLowBattery(context)
            context.emit(event: "charged", [batteryReading])
            settle(.idle, context)
        case nil:
            return
        }
    }

    func apply(stimulus: PluginMessage, _ context: PluginContext) throws {
        switch stimulus.name {
        case "obstacle":
            let duration = try stimulus.duration("duration")
            catchUp(context)
            obstacle(for: duration, context)
        case "estop":
            catchUp(context)
            // Pressed again while pressed: nothing new for the platform.
            guard !estopPressed else { return }
            abandon(reason: "estop", context)
            estopPressed = true
            context.emit(event: "estop")
            planBattery(context)
        case "motor-fault", "localization-lost":
            catchUp(context)
            // The robot already stands in fault; the first fault is what a technician looks for.
            guard faultReason == nil else { return }
            abandon(reason: "fault", context)
            let reason = stimulus.name == "motor-fault" ? "motor" : "localization"
            faultReason = reason
            context.emit(event: "fault", [PluginReading("reason", .string(reason))])
            planBattery(context)
        case "repair":
            guard faultReason != nil else { return }
            catchUp(context)
            faultReason = nil
            context.emit(event: "fault-cleared")
        case "battery":
            let level = try stimulus.double("level")
            guard level.isFinite, (0 ... 100).contains(level) else {
                throw PluginDeviceError("battery: 'level' must be between 0 and 100, got \(level)")
            }
            catchUp(context)
            battery = level
            checkLowBattery(context)
            if battery <= 0 { batteryRanOut(context) } else { planBattery(context) }
        default:
            // Unreachable through the kit, which only lets declared stimuli through.
            throw PluginDeviceError("mobile-robot has no stimulus '\(stimulus.name)'")
        }
    }

    func handle(command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        catchUp(context)
        switch command.name {
        case "drive": return startDrive(command, context)
        case "task": return startTask(command, context)
        case "charge": return startCharging(context)
        case "stop":
            abandon(reason: "stopped", context)
            planBattery(context)
            return accepted
        case "release":
            guard estopPressed else { return rejected("not in estop") }
            estopPressed = false
            context.emit(event: "estop-released")
            return accepted
        default:
            // Unreachable through the kit, which rejects undeclared commands; kept so the device
            // stays correct if it is driven some other way.
            return rejected("mobile-robot does not know the command '\(command.name)'")
        }
    }

    // MARK: Commands

    private func startDrive(_ command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        let targetX: Double, targetY: Double, requestedSpeed: Double, ref: String
        do {
            targetX = try command.double("x")
            targetY = try command.double("y")
            requestedSpeed = try command.double("speed", default: maxSpeed)
            ref = try command.string("ref", default: "")
        } catch {
            return rejected(error.message)
        }
        guard targetX.isFinite, targetY.isFinite else { return rejected("drive: x and y must be finite numbers") }
        guard requestedSpeed.isFinite, requestedSpeed > 0 else {
            return rejected("drive: speed must be more than 0 m/s, got \(requestedSpeed)")
        }
        if let stopped = stoppedBy { return rejected(stopped) }
        if activity == .working { return rejected("working") }
        guard battery > 0 else { return rejected("battery-empty") }

        // From wherever the robot is now: a drive under way is replaced where it stands.
        let speed = min(requestedSpeed, maxSpeed)
        let dx = targetX - x
        let dy = targetY - y
        let length = (dx * dx + dy * dy).squareRoot()
        let moving = length > 0 ? max(1, Self.nanoseconds(seconds: length / speed)) : Self.emptyDriveNanoseconds
        if length > 0 { theta = atan2(dy, dx) }
        drive = Drive(
            fromX: x, fromY: y, toX: targetX, toY: targetY, length: length, speed: speed, totalNanoseconds: moving, ref: ref)
        activityGeneration &+= 1
        if activity == .blocked {
            // The obstacle is still in the way: the new drive sets off when it goes.
            context.schedule(afterNanoseconds: blockedUntil &- context.now, tag: Self.tag(.unblock, activityGeneration))
        } else {
            activity = .driving
            context.schedule(afterNanoseconds: moving, tag: Self.tag(.arrival, activityGeneration))
        }
        planBattery(context)
        return accepted
    }

    private func startTask(_ command: PluginMessage, _ context: PluginContext) -> PluginCommandResult {
        let type: String, givenDuration: UInt64?, givenArea: Double?, ref: String
        do {
            type = try command.string("type")
            givenDuration = command.arguments["duration"] == nil ? nil : try command.duration("duration")
            givenArea = command.arguments["area"] == nil ? nil : try command.double("area")
            ref = try command.string("ref", default: "")
        } catch {
            return rejected(error.message)
        }
        guard !type.isEmpty else { return rejected("task: type must not be empty") }
        if let givenArea, !(givenArea.isFinite && givenArea > 0) {
            return rejected("task: area must be more than 0 m², got \(givenArea)")
        }
        if let givenDuration, givenDuration == 0 { return rejected("task: duration must be longer than zero") }
        if let stopped = stoppedBy { return rejected(stopped) }
        switch activity {
        case .driving, .blocked: return rejected("driving")
        case .working: return rejected("working")
        case .idle, .charging: break
        }
        guard battery > 0 else { return rejected("battery-empty") }

        let cleaning = type == "clean"
        let duration: UInt64
        var area = 0.0
        if let givenDuration {
            duration = givenDuration
            // A clean task given only a time cleans what the robot covers in that time.
            if cleaning { area = givenArea ?? cleanRate * Double(givenDuration) / Self.nanosecondsPerHour }
        } else if cleaning, let givenArea {
            area = givenArea
            duration = max(1, Self.nanoseconds(seconds: givenArea / cleanRate * 3_600))
        } else {
            return rejected(cleaning
                ? "task: clean needs a duration or an area"
                : "task: '\(type)' needs a duration (only clean can be given an area instead)")
        }

        // Working starts where the robot stands; a robot on its charger leaves it.
        activity = .working
        work = Work(type: type, ref: ref, area: area)
        activityGeneration &+= 1
        context.schedule(afterNanoseconds: duration, tag: Self.tag(.taskEnd, activityGeneration))
        context.emit(event: "task-started", [refReading, taskReading])
        planBattery(context)
        return accepted
    }

    private func startCharging(_ context: PluginContext) -> PluginCommandResult {
        if let stopped = stoppedBy { return rejected(stopped) }
        switch activity {
        case .driving, .blocked: return rejected("driving")
        case .working: return rejected("working")
        case .charging: return accepted  // already on it: nothing new to say
        case .idle: break
        }
        settle(.charging, context)
        context.emit(event: "charging-started", [batteryReading])
        return accepted
    }

    /// What keeps the robot from moving, working or charging at all: the emergency stop or a
    /// fault (the reason a command is refused with); nil when nothing does.
    private var stoppedBy: String? {
        if estopPressed { return "estop" }
        if faultReason != nil { return "fault" }
        return nil
    }

    // MARK: Behaviour

    var state: State {
        if estopPressed { return .estop }
        if faultReason != nil { return .fault }
        switch activity {
        case .idle: return .idle
        case .driving: return .driving
        case .blocked: return .blocked
        case .working: return .working
        case .charging: return .charging
        }
    }

    private var speed: Double {
        guard activity == .driving, let drive, drive.length > 0 else { return 0 }
        return drive.speed
    }

    private var stateReading: PluginReading { PluginReading("state", .string(state.rawValue)) }
    private var batteryReading: PluginReading { PluginReading("battery", .double(battery)) }
    private var refReading: PluginReading { PluginReading("ref", .string(drive?.ref ?? work?.ref ?? "")) }
    private var taskReading: PluginReading { PluginReading("task", .string(work?.type ?? "")) }

    private var accepted: PluginCommandResult { .accepted(readings: [stateReading, batteryReading]) }

    private func rejected(_ reason: String) -> PluginCommandResult {
        PluginCommandResult(.rejected(reason: reason), readings: [stateReading, batteryReading])
    }

    /// Brings position, distance and battery up to `now` for what the robot has been doing
    /// since the last update, and checks the low-battery threshold.
    private func catchUp(_ context: PluginContext) {
        let now = context.now
        let elapsed = now > lastUpdate ? now - lastUpdate : 0
        lastUpdate = max(lastUpdate, now)
        guard elapsed > 0 else { return }
        let hours = Double(elapsed) / Self.nanosecondsPerHour
        switch activity {
        case .driving:
            guard var current = drive else { return }
            let before = current.fraction
            current.movedNanoseconds = min(current.totalNanoseconds, current.movedNanoseconds &+ elapsed)
            let after = current.fraction
            drive = current
            x = current.fromX + (current.toX - current.fromX) * after
            y = current.fromY + (current.toY - current.fromY) * after
            let metres = current.length * (after - before)
            distance += metres
            battery -= metres * drainPerKm / 1000
        case .idle, .blocked:
            battery -= hours * idleDrain
        case .working:
            battery -= hours * taskDrain
        case .charging:
            battery += hours * chargeRate
        }
        battery = min(100, max(0, battery))
        checkLowBattery(context)
    }

    /// Fires low-battery when the battery is down to the threshold (0 turns the alarm off),
    /// re-arms it on the way back up.
    private func checkLowBattery(_ context: PluginContext) {
        if lowBatteryArmed, lowBattery > 0, battery <= lowBattery {
            raiseLowBattery(context)
        } else if !lowBatteryArmed, battery >= rearmLevel {
            lowBatteryArmed = true
        }
    }

    private func raiseLowBattery(_ context: PluginContext) {
        lowBatteryArmed = false
        context.emit(event: "low-battery", [batteryReading])
    }

    /// Charged this far, the alarm may fire again (low_battery is at most 90, so it is reachable).
    private var rearmLevel: Double { lowBattery + 10 }

    /// The battery's rate of change now, in % per nanosecond (negative while draining).
    private var batteryRate: Double {
        switch activity {
        case .driving: -(drive?.metresPerNanosecond ?? 0) * drainPerKm / 1000
        case .idle, .blocked: -idleDrain / Self.nanosecondsPerHour
        case .working: -taskDrain / Self.nanosecondsPerHour
        case .charging: chargeRate / Self.nanosecondsPerHour
        }
    }

    /// Times the next instants the battery reaches low_battery, 0 (while driving or working) or
    /// 100 (while charging) at its present rate; the previous plan goes stale. Called whenever
    /// the activity or the battery changes.
    private func planBattery(_ context: PluginContext) {
        batteryGeneration &+= 1
        let rate = batteryRate
        if rate > 0 {
            if activity == .charging {
                context.schedule(afterNanoseconds: Self.nanoseconds((100 - battery) / rate), tag: Self.tag(.charged, batteryGeneration))
            }
            return
        }
        guard rate < 0 else { return }
        if lowBatteryArmed, lowBattery > 0, battery > lowBattery {
            context.schedule(
                afterNanoseconds: Self.nanoseconds((battery - lowBattery) / -rate), tag: Self.tag(.lowBattery, batteryGeneration))
        }
        if activity != .idle {
            context.schedule(afterNanoseconds: Self.nanoseconds(battery / -rate), tag: Self.tag(.batteryEmpty, batteryGeneration))
        }
    }

    private func arrive(_ context: PluginContext) {
        catchUp(context)
        guard let drive else { return }
        // Land exactly on the target, not on its interpolation.
        x = drive.toX
        y = drive.toY
        context.emit(event: "arrived", [refReading, PluginReading("x", .double(x)), PluginReading("y", .double(y)), batteryReading])
        self.drive = nil
        settle(.idle, context)
    }

    private func obstacle(for duration: UInt64, _ context: PluginContext) {
        switch activity {
        case .driving:
            activity = .blocked
            blockedUntil = context.now &+ duration
            activityGeneration &+= 1
            context.schedule(afterNanoseconds: duration, tag: Self.tag(.unblock, activityGeneration))
            context.emit(event: "blocked", [refReading, PluginReading("x", .double(x)), PluginReading("y", .double(y))])
            planBattery(context)
        case .blocked:
            // A second obstacle while stopped: the robot waits for whichever clears last.
            guard context.now &+ duration > blockedUntil else { return }
            blockedUntil = context.now &+ duration
            activityGeneration &+= 1
            context.schedule(afterNanoseconds: duration, tag: Self.tag(.unblock, activityGeneration))
        case .idle, .working, .charging:
            return
        }
    }

    private func unblock(_ context: PluginContext) {
        catchUp(context)
        guard let drive else { return settle(.idle, context) }
        activity = .driving
        activityGeneration &+= 1
        context.schedule(afterNanoseconds: drive.totalNanoseconds - drive.movedNanoseconds, tag: Self.tag(.arrival, activityGeneration))
        context.emit(event: "unblocked", [refReading])
        planBattery(context)
    }

    private func finishTask(_ context: PluginContext) {
        catchUp(context)
        guard let work else { return }
        areaCleaned += work.area
        context.emit(event: "task-finished", [refReading, taskReading, PluginReading("area_cleaned", .double(work.area))])
        self.work = nil
        settle(.idle, context)
    }

    /// Nothing left to drive or work on: the robot stands, driving or working with an empty
    /// battery is the battery-empty fault.
    private func batteryRanOut(_ context: PluginContext) {
        // Standing or charging, an empty battery is just empty: nothing is interrupted. (A robot
        // driving or working is never in estop or fault, which stop both.)
        guard activity == .driving || activity == .blocked || activity == .working else { return planBattery(context) }
        abandon(reason: "battery-empty", context)
        faultReason = "battery-empty"
        context.emit(event: "fault", [PluginReading("reason", .string("battery-empty"))])
        planBattery(context)
    }

    /// Ends the drive or task under way, with its failure event, and charging; the robot stands
    /// where it is. The caller has brought the position up to date.
    private func abandon(reason: String, _ context: PluginContext) {
        let because = PluginReading("reason", .string(reason))
        switch activity {
        case .driving, .blocked:
            context.emit(event: "drive-failed", [refReading, because])
        case .working:
            context.emit(event: "task-failed", [refReading, taskReading, because])
        case .idle, .charging:
            break
        }
        drive = nil
        work = nil
        activity = .idle
        activityGeneration &+= 1
    }

    /// Moves to `next` with nothing pending from the old activity, and replans the battery.
    private func settle(_ next: Activity, _ context: PluginContext) {
        activity = next
        activityGeneration &+= 1
        planBattery(context)
    }

    /// A timer tag: the timer in the low byte, the generation's low 24 bits above it.
    private static func tag(_ timer: Timer, _ generation: UInt32) -> UInt32 {
        timer.rawValue | (generation & generationMask) << 8
    }

    private static func nanoseconds(seconds: Double) -> UInt64 {
        nanoseconds(seconds * 1e9)
    }

    /// A delay of `value` nanoseconds, rounded; never negative, and a far future (a rate near
    /// zero) stays representable.
    private static func nanoseconds(_ value: Double) -> UInt64 {
        guard value.isFinite, value > 0 else { return value.isNaN || value <= 0 ? 0 : UInt64.max / 2 }
        return value >= Double(UInt64.max / 2) ? UInt64.max / 2 : UInt64(value.rounded())
    }

    private static func require(
        _ valid: Bool, _ config: PluginDeviceConfig, _ parameter: String, _ value: Double, _ expected: String
    ) throws(PluginDeviceError) {
        guard !valid else { return }
        throw PluginDeviceError("device '\(config.id)': parameter '\(parameter)' must be \(expected), got \(value)")
    }
}
