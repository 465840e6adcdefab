import ParkPluginKit

/// The `mobile-robot` kind as ParkBench sees it: points, events, commands, stimuli and the
/// parameters a model profile may set.
///
/// The machine under seed 004's robot family: cleaning robots for malls, outdoor plazas and
/// underground car parks (L1686-1743: at least 4 h on a charge, L1688; 1,000-2,000 m²/h,
/// L1690/L1707/L1729; back to the charger and charging by itself on low battery, L1700),
/// delivery robots that ride elevators and pass access doors (L2048), and patrol robots that
/// follow routes on a schedule (L2592-2596, L2725-2737). Low-battery and fault alarms are what
/// the platform must show for all of them (L1795, L2075).
///
/// Only the machine is here: it drives, works, drains and charges its battery, and fails. A
/// fleet layer (VDA 5050 towards a fleet controller) drives it with `drive`, `task`, `charge`,
/// `stop` and `release`, so the vocabulary is the machine's, not the fleet protocol's; the
/// harness plays the world with obstacles, emergency stops and faults.
enum MobileRobotKind {
    static let description = PluginKindDescription(
        name: "mobile-robot",
        summary: "Mobile robot (cleaning, delivery, patrol): drives straight to a target, runs timed tasks, drains and charges its battery, reports obstacles, low battery, emergency stops and faults",
        sources: [
            "004_5e9061d643d5fb41.txt L1686-1743",
            "004_5e9061d643d5fb41.txt L1688",
            "004_5e9061d643d5fb41.txt L1690",
            "004_5e9061d643d5fb41.txt L1700",
            "004_5e9061d643d5fb41.txt L1795",
            "004_5e9061d643d5fb41.txt L2028",
            "004_5e9061d643d5fb41.txt L2048",
            "004_5e9061d643d5fb41.txt L2075",
            "004_5e9061d643d5fb41.txt L2592-2596",
            "004_5e9061d643d5fb41.txt L2725-2737",
        ],
        points: [
            PluginPointDescription(name: "x", type: .double, unit: "m", summary: "Position east of the map origin"),
            PluginPointDescription(name: "y", type: .double, unit: "m", summary: "Position north of the map origin"),
            PluginPointDescription(name: "theta", type: .double, unit: "rad", summary: "Heading of travel, from the x axis counter-clockwise; kept when the robot stops"),
            PluginPointDescription(name: "speed", type: .double, unit: "m/s", summary: "Speed now: the drive's speed while moving, 0 otherwise (blocked included)"),
            PluginPointDescription(name: "battery", type: .double, unit: "%", summary: "State of charge, 0-100"),
            PluginPointDescription(name: "charging", type: .bool, summary: "true while charging"),
            PluginPointDescription(name: "driving", type: .bool, summary: "true while moving (false while blocked)"),
            PluginPointDescription(name: "state", type: .string, summary: "idle, driving, working, charging, blocked, fault or estop"),
            PluginPointDescription(name: "task", type: .string, summary: "The running task's type; \"\" when none"),
            PluginPointDescription(name: "ref", type: .string, summary: "The ref of the drive or task being carried out; \"\" when none"),
            PluginPointDescription(name: "distance", type: .double, unit: "m", summary: "Metres driven since the device started"),
            PluginPointDescription(name: "area_cleaned", type: .double, unit: "m²", summary: "Square metres cleaned by finished clean tasks since the device started; in task-finished, that task's area"),
            PluginPointDescription(name: "reason", type: .string, summary: "Why a drive or task failed (stopped, fault, estop, battery-empty) or what the fault is (motor, localization, battery-empty)"),
        ],
        events: [
            PluginEventDescription(name: "arrived", severity: .info, summary: "The target of a drive was reached; readings ref, x, y, battery"),
            PluginEventDescription(name: "task-started", severity: .info, summary: "A task began; readings ref, task"),
            PluginEventDescription(name: "task-finished", severity: .info, summary: "A task ran its full time; readings ref, task, area_cleaned (this task's m², 0 unless clean)"),
            PluginEventDescription(name: "task-failed", severity: .warning, summary: "A task was abandoned; readings ref, task, reason (stopped, fault, estop, battery-empty)"),
            PluginEventDescription(name: "drive-failed", severity: .warning, summary: "A drive was abandoned before its target; readings ref, reason (stopped, fault, estop, battery-empty). A drive replaced by a new one fails silently"),
            PluginEventDescription(name: "blocked", severity: .warning, summary: "An obstacle stopped the robot while driving; readings ref, x, y"),
            PluginEventDescription(name: "unblocked", severity: .info, summary: "The obstacle is gone and the drive continues; reading ref"),
            PluginEventDescription(name: "low-battery", severity: .alarm, summary: "The battery fell to low_battery (004 L1795, L2075): once per crossing, re-armed when it is back at low_battery + 10; reading battery"),
            PluginEventDescription(name: "fault", severity: .critical, summary: "The robot stopped with a fault (004 L1795, L2075); reading reason (motor, localization, battery-empty)"),
            PluginEventDescription(name: "fault-cleared", severity: .info, summary: "The fault was repaired"),
            PluginEventDescription(name: "estop", severity: .critical, summary: "The emergency stop was pressed: everything stopped until release"),
            PluginEventDescription(name: "estop-released", severity: .info, summary: "The emergency stop was released"),
            PluginEventDescription(name: "charging-started", severity: .info, summary: "Charging began; reading battery"),
            PluginEventDescription(name: "charged", severity: .info, summary: "The battery reached 100 and charging stopped; reading battery"),
            PluginHeartbeat.event(readings: "state"),
        ],
        commands: [
            PluginCommandDescription(
                name: "drive",
                arguments: [
                    PluginArgumentDescription(name: "x", type: .double, summary: "Target x, m"),
                    PluginArgumentDescription(name: "y", type: .double, summary: "Target y, m"),
                    PluginArgumentDescription(name: "speed", type: .double, required: false, summary: "m/s, more than 0; default and cap max_speed"),
                    PluginArgumentDescription(name: "ref", type: .string, required: false, summary: "The caller's reference, echoed in the drive's events; default \"\""),
                ],
                summary: "Drive in a straight line to (x, y): arrived exactly distance/speed later (1 ms for the point it stands on). Replaces a drive under way without an event; stops charging. Rejected in fault (fault), estop (estop), while working (working), with an empty battery (battery-empty)"),
            PluginCommandDescription(name: "stop", summary: "Stop where it is: the drive fails (drive-failed, stopped), the task fails (task-failed, stopped), charging ends. Accepted in any state"),
            PluginCommandDescription(
                name: "task",
                arguments: [
                    PluginArgumentDescription(name: "type", type: .string, summary: "What the task is, e.g. clean, deliver, patrol"),
                    PluginArgumentDescription(name: "duration", type: .duration, required: false, summary: "How long it runs, more than 0"),
                    PluginArgumentDescription(name: "area", type: .double, required: false, summary: "m² to clean, more than 0 (type clean): without duration it runs area / clean_rate hours"),
                    PluginArgumentDescription(name: "ref", type: .string, required: false, summary: "The caller's reference, echoed in the task's events; default \"\""),
                ],
                summary: "Work in place: task-started at once, task-finished after duration (clean without duration: area / clean_rate). Rejected while driving (driving), working (working), in fault (fault) or estop (estop), with an empty battery (battery-empty), and without a duration (or, for clean, an area)"),
            PluginCommandDescription(name: "charge", summary: "Start charging at charge_rate (charging-started; charged at 100). Rejected in fault (fault) or estop (estop), while driving (driving) or working (working)"),
            PluginCommandDescription(name: "release", summary: "Release the emergency stop (estop-released). Rejected when not in estop"),
        ],
        stimuli: [
            PluginStimulusDescription(
                name: "obstacle",
                arguments: [PluginArgumentDescription(name: "duration", type: .duration, summary: "How long the way stays blocked")],
                summary: "Something in the way: while driving the robot stops for duration (blocked, then unblocked) and carries on, arriving exactly duration later; otherwise nothing"),
            PluginStimulusDescription(name: "estop", summary: "The emergency stop is pressed: drive or task fails (estop), estop; state estop until release"),
            PluginStimulusDescription(name: "motor-fault", summary: "A drive motor fails: drive or task fails (fault), fault with reason motor; state fault until repair"),
            PluginStimulusDescription(name: "localization-lost", summary: "The robot loses its position on the map: drive or task fails (fault), fault with reason localization; state fault until repair"),
            PluginStimulusDescription(name: "repair", summary: "A technician clears the fault: fault-cleared; nothing when not in fault"),
            PluginStimulusDescription(
                name: "battery",
                arguments: [PluginArgumentDescription(name: "level", type: .double, summary: "The new state of charge, 0-100")],
                summary: "Sets the battery at once (a shortcut for a long day): low-battery if it crosses low_battery; at 0 while driving or working, the battery-empty fault"),
        ],
        parameters: [
            PluginParameterDescription(name: "max_speed", type: .double, defaultValue: "1.0", minimum: 0.01, maximum: 10, unit: "m/s", summary: "Top speed: a drive's default and cap"),
            PluginParameterDescription(name: "drain_per_km", type: .double, defaultValue: "2.0", minimum: 0, maximum: 100, unit: "%/km", summary: "Battery used per kilometre driven"),
            PluginParameterDescription(name: "idle_drain", type: .double, defaultValue: "1.0", minimum: 0, maximum: 100, unit: "%/h", summary: "Battery used per hour standing: idle, blocked, in fault or estop"),
            PluginParameterDescription(name: "task_drain", type: .double, defaultValue: "20.0", minimum: 0, maximum: 100, unit: "%/h", summary: "Battery used per hour working (004 L1688: at least 4 h of cleaning on a charge)"),
            PluginParameterDescription(name: "charge_rate", type: .double, defaultValue: "50.0", minimum: 0.01, maximum: 1000, unit: "%/h", summary: "Battery gained per hour charging"),
            PluginParameterDescription(name: "clean_rate", type: .double, defaultValue: "1000", minimum: 1, maximum: 100000, unit: "m²/h", summary: "Area cleaned per hour (004 L1690, L1707, L1729: at least 1,000, 1,500, 2,000 m²/h)"),
            PluginParameterDescription(name: "low_battery", type: .double, defaultValue: "20", minimum: 0, maximum: 90, unit: "%", summary: "The low-battery alarm's threshold (004 L1700, L1795); 0 turns the alarm off"),
            PluginParameterDescription(name: "start_battery", type: .double, defaultValue: "100", minimum: 0, maximum: 100, unit: "%", summary: "State of charge when the device starts"),
            PluginParameterDescription(name: "start_x", type: .double, defaultValue: "0", minimum: -1_000_000, maximum: 1_000_000, unit: "m", summary: "Where the robot stands when the device starts"),
            PluginParameterDescription(name: "start_y", type: .double, defaultValue: "0", minimum: -1_000_000, maximum: 1_000_000, unit: "m", summary: "Where the robot stands when the device starts"),
            PluginParameterDescription(name: "report_interval", type: .duration, defaultValue: "1s", minimum: 0.001, summary: "Time between reports (telemetry x, y, theta, speed, battery, charging, driving, state)"),
            PluginHeartbeat.parameter(),
        ])

    /// Timer tags: the low byte names the timer. The activity's timers (arrival, unblock, task
    /// end) carry the activity generation above it, the battery's (empty, low, charged) the
    /// battery generation: a new drive, a stop or a fault makes the pending ones stale, and so
    /// does anything that changes how fast the battery moves.
    enum Timer: UInt32 {
        case heartbeat = 1
        case report = 2
        /// The drive reaches its target.
        case arrival = 3
        /// The obstacle is gone.
        case unblock = 4
        /// The task has run its time.
        case taskEnd = 5
        /// The battery reaches 0 while driving or working.
        case batteryEmpty = 6
        /// The battery reaches low_battery.
        case lowBattery = 7
        /// The battery reaches 100 while charging.
        case charged = 8
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: MobileRobotKind.description, device: MobileRobot.self, host: host, into: plugin)
}
