import Foundation
import ParkProfiles
import ParkWire

/// The decision-making heart of the reference platform, as a value-type state machine: it is
/// fed what arrives from devices and the passing of time, and answers with actions (raise an
/// alarm northbound, change a device's status). Transports (the MQTT subscriber, the
/// northbound publisher, timers) only carry those out, so every rule is tested without sockets.
///
/// Fault switches (``PlatformFaults``) make it misbehave on purpose, so the harness can prove
/// each of its checks fails when it should.
public struct PlatformCore: Sendable {
    /// A device as the platform sees it.
    public struct DeviceState: Sendable, Hashable {
        public var id: String
        public var kind: String
        public var status: DeviceStatus
        /// When the last message from the device arrived (platform clock, ns).
        public var lastSeen: UInt64
        /// Highest `seq` seen, and how many were missing or repeated on the way.
        public var lastSequence: Int
        public var gaps: Int
        public var duplicates: Int
        public var messages: Int
        /// Learnt from the topic the device publishes on (`park/{zone}/…`), for linkage.
        public var zone: String?
        /// Where the device takes commands, learnt the same way.
        public var commandTopic: String?
        /// The latest value of each point, with the message it came from.
        public var values: [String: Double] = [:]
        public var valuesMessageID: String?
        public var valuesTimestampNanoseconds: Int64?
        /// A GB/T 28181 camera on the platform's SIP server rather than an MQTT device.
        public var viaSIP = false
        /// An EV charger on the platform's OCPP central system rather than an MQTT device.
        public var viaOCPP = false
        /// A mobile robot heard on VDA 5050 (its `connection` and `state` topics).
        public var viaVDA5050 = false
        /// A robot's manufacturer (its topics' level), its last position, and the return-to-charge
        /// order the fleet manager sent it, while its battery is low.
        public var robotManufacturer: String?
        public var robotX: Double?
        public var robotY: Double?
        public var robotReturnOrder: String?
        /// The robot's order topic's next headerId (the fleet manager's, per robot).
        public var robotOrderHeaderId = 0
        /// Its instantActions topic's next headerId.
        public var robotInstantHeaderId = 0
        /// The node the robot last reached (its state's `lastNodeId`): where its next order starts.
        public var robotLastNode: String?
        /// The task the fleet manager has the robot on, until its state shows it done.
        public var robotTask: RobotTask?
        /// The robot's task list: tasks asked while it was busy, started in turn as it comes free.
        public var robotQueue: [RobotTask] = []
        /// When the platform last showed the robot's position (the `robot-view-sampled` switch).
        public var robotShownAt: UInt64?
        /// An OCPP charger's connectors: the status each last reported (connector 0: the station).
        public var connectors: [Int: String] = [:]
        /// A VDA 5050 robot's errors now showing, by type (its state's `errors`): a new one is an
        /// alarm once, not on every state that repeats it.
        public var robotErrors: Set<String> = []
        /// The last ``PlatformCore/recentMessageIDs`` telemetry and event msg_ids, oldest first:
        /// a QoS 1 message delivered again after a reconnect is shown once.
        public var recentMessageIDs: [String] = []
    }

    /// How many msg_ids per device the platform remembers to recognise a message delivered again.
    public static let recentMessageIDs = 64

    /// What the platform should do.
    public enum Action: Sendable, Hashable {
        /// Publish this alarm northbound once `delay` has passed (zero: now).
        case raiseAlarm(PlatformAlarm, delay: Duration)
        /// The fleet manager's message to a robot (a VDA 5050 order) on its topic.
        case sendRobotMessage(device: String, topic: String, payload: [UInt8])
        /// A device's status changed.
        case statusChanged(device: String, from: DeviceStatus?, to: DeviceStatus)
        /// Telemetry to show northbound: the values the platform now holds for the device.
        case showTelemetry(PlatformTelemetry)
        /// A record of an event that carried text — a car's passage with its plate, an access
        /// grant with the person — as the platform keeps and shows it.
        case showRecord(PlatformRecord)
        /// A linkage rule fired: send this command message to a device once `delay` has passed.
        case sendCommand(device: String, topic: String, payload: [UInt8], rule: String, delay: Duration)
        /// A device message to keep (the platform's database).
        case record(RecordedMessage)
        /// Something in a device message was refused or left out; worth a (rate-limited) log line.
        case refused(PlatformInputProblem)
        /// A camera's or NVR's catalog as the platform now holds it: how many channels, the
        /// SumNum the device announced, and whether every item arrived.
        case showCatalog(device: String, channels: Int, sumNum: Int, complete: Bool)
    }

    public let configuration: PlatformConfiguration
    public var faults: PlatformFaults
    /// How long an OCPP charger may be silent before it is offline: set from the heartbeat
    /// interval the central system gives (nil: the MQTT devices' heartbeat timeout).
    public var chargerSilenceTimeout: Duration?
    public internal(set) var devices: [String: DeviceState] = [:]
    public internal(set) var alarmsRaised = 0
    public internal(set) var alarmsDropped = 0
    /// What was refused or left out of device messages, by kind.
    public private(set) var input = PlatformInputStatistics()
    /// Messages that were not device messages (kept for callers that predate ``input``).
    public var malformed: Int { input.malformed }
    /// Commands sent by linkage rules, and rule firings swallowed by the fault switch.
    public private(set) var linkageCommands = 0
    public private(set) var linkageDropped = 0
    /// Rule firings left out because the event lacked a value an argument takes (`{floor}`).
    public private(set) var linkageUnfilled = 0
    private var messagesSinceStart = 0

    public init(configuration: PlatformConfiguration, faults: PlatformFaults = PlatformFaults()) {
        self.configuration = configuration
        self.faults = faults
    }

    /// A message from a device arrived on `topic` at platform time `now` (ns).
    ///
    /// A payload over ``PlatformLimits/maxPayloadBytes`` is refused before a byte of it is
    /// parsed, and one with too many values as soon as the count passes the limit: a single
    /// message then costs at most a few milliseconds, so the alarms behind it are not held up.
    public mutating func received(topic: String, payload: [UInt8], now: UInt64) -> [Action] {
        messagesSinceStart += 1
        let limits = configuration.limits
        if let problem = refuseOversized(topic: topic, bytes: payload.count) { return [.refused(problem)] }
        let message: DeviceMessage
        do throws(DeviceMessageError) {
            message = try DeviceMessage(topic: topic, payload: payload, maxValues: limits.maxValues)
        } catch {
            let kind: PlatformInputProblem.Kind
            if case .tooManyValues = error.reason {
                input.tooManyValues += 1
                kind = .tooManyValues
            } else {
                input.malformed += 1
                kind = .malformed
            }
            let detail = kind == .tooManyValues ? "\(error) (--max-values)" : error.description
            return [.refused(PlatformInputProblem(
                kind, topic: topic, device: DevicePlace.device(topic: topic), bytes: payload.count, detail: detail))]
        }
        var actions: [Action] = []
        if !message.badValues.isEmpty {
            // Only the unreadable numbers go; the event (a smoke alarm, say) still counts.
            input.badValues += message.badValues.count
            actions.append(.refused(PlatformInputProblem(
                .badValue, topic: topic, device: message.device, bytes: payload.count,
                detail: "left out \(Self.keyList(message.badValues)): not a finite number; the rest of the message was kept")))
        }
        var state = devices[message.device] ?? DeviceState(
            id: message.device, kind: message.kind, status: .unknown, lastSeen: now, lastSequence: 0, gaps: 0,
            duplicates: 0, messages: 0)
        if message.channel == "telemetry" || message.channel == "event" {
            if let stale = faults.staleAfter, let sent = message.timestampNanoseconds,
               Int64(clamping: now) - sent > Int64(stale.components.seconds) * 1_000_000_000 + stale.components.attoseconds / 1_000_000_000 {
                input.staleDropped += 1
                return actions
            }
            if let id = message.messageID, !faults.duplicatesKept {
                if state.recentMessageIDs.contains(id) {
                    // At-least-once delivery: the same message again after a reconnect is proof of
                    // life, not news.
                    input.duplicatesDropped += 1
                    devices[message.device]?.lastSeen = now
                    devices[message.device]?.duplicates += 1
                    return actions
                }
                state.recentMessageIDs.append(id)
                if state.recentMessageIDs.count > Self.recentMessageIDs { state.recentMessageIDs.removeFirst() }
            }
        }
        actions.append(.record(RecordedMessage(
            device: message.device, kind: message.kind, channel: message.channel, name: message.name, sequence: message.sequence,
            messageID: message.messageID, deviceTimeNanoseconds: message.timestampNanoseconds, receivedNanoseconds: now,
            values: message.values)))
        if let place = DevicePlace(topic: topic) {
            state.zone = place.zone
            state.commandTopic = place.commandTopic
        }
        state.lastSeen = now
        state.messages += 1
        if let sequence = message.sequence {
            if sequence <= state.lastSequence { state.duplicates += 1 }
            else if state.lastSequence > 0, sequence > state.lastSequence + 1 { state.gaps += sequence - state.lastSequence - 1 }
            state.lastSequence = max(state.lastSequence, sequence)
        }
        let before = devices[message.device]?.status
        switch message.channel {
        case "status":
            // The fault switch blinds both ways of noticing a device is gone: the heartbeat
            // timeout (in tick) and the broker's last will here.
            if message.status == "offline" {
                if !faults.offlineDetectionDisabled { state.status = .offline }
            } else {
                state.status = .online
            }
        default:
            if state.status != .online, state.status != .abnormal { state.status = .online }
            if let event = message.name, configuration.abnormalEvents.contains(event) { state.status = .abnormal }
            if let event = message.name, configuration.recoveryEvents.contains(event), state.status == .abnormal {
                state.status = .online
            }
        }
        if before != state.status { actions.append(.statusChanged(device: state.id, from: before, to: state.status)) }
        devices[message.device] = state

        if message.channel == "telemetry" || message.channel == "event", !message.values.isEmpty {
            // A device's latest values are bounded like one message's: otherwise many small
            // messages with new point names would grow the platform (and GET /devices) forever.
            var refusedPoints: [String] = []
            for point in message.valueNames {
                guard let value = message.values[point] else { continue }
                if state.values[point] == nil, state.values.count >= limits.maxValues {
                    refusedPoints.append(point)
                    continue
                }
                state.values[point] = value * faults.valueScaling
            }
            if !refusedPoints.isEmpty {
                input.pointsRefused += refusedPoints.count
                actions.append(.refused(PlatformInputProblem(
                    .pointsRefused, topic: topic, device: message.device, bytes: payload.count,
                    detail: "did not keep \(Self.keyList(refusedPoints.sorted())): the device already holds \(limits.maxValues) points (--max-values)")))
            }
            state.valuesMessageID = message.messageID
            state.valuesTimestampNanoseconds = message.timestampNanoseconds
            devices[message.device] = state
        }
        if message.channel == "telemetry", !message.values.isEmpty {
            actions.append(.showTelemetry(PlatformTelemetry(
                device: message.device, kind: message.kind, messageID: message.messageID,
                deviceTimeNanoseconds: message.timestampNanoseconds, receivedNanoseconds: now,
                values: message.values.mapValues { $0 * faults.valueScaling })))
        }
        if message.channel == "event", let event = message.name {
            actions += linkage(for: event, from: state, values: message.values, texts: message.texts)
            if configuration.robotMap != nil { actions += gateEvent(message.device, event: event, values: message.values, now: now) }
            if !message.texts.isEmpty {
                let texts = faults.textsMangled ? message.texts.mapValues(Self.mangled) : message.texts
                actions.append(.showRecord(PlatformRecord(
                    device: message.device, kind: message.kind, event: event, messageID: message.messageID,
                    deviceTimeNanoseconds: message.timestampNanoseconds, receivedNanoseconds: now, values: message.values, texts: texts)))
            }
        }
        if message.channel == "event", let event = message.name, configuration.alarmEvents.contains(event) {
            if faults.dropAlarms {
                alarmsDropped += 1
            } else {
                alarmsRaised += 1
                let values = message.values.mapValues { value -> Double in value * faults.valueScaling }
                actions.append(.raiseAlarm(
                    PlatformAlarm(
                        id: alarmsRaised, device: message.device, kind: message.kind, event: event,
                        messageID: message.messageID, deviceTimeNanoseconds: message.timestampNanoseconds,
                        receivedNanoseconds: now, values: values),
                    delay: faults.alarmDelay))
            }
        }
        return actions
    }

    /// Counts and describes a message of `bytes` on `topic` when it is over
    /// ``PlatformLimits/maxPayloadBytes``; nil when it may be read.
    public mutating func refuseOversized(topic: String, bytes: Int) -> PlatformInputProblem? {
        guard bytes > configuration.limits.maxPayloadBytes else { return nil }
        input.oversized += 1
        return PlatformInputProblem(
            .oversized, topic: topic, device: DevicePlace.device(topic: topic), bytes: bytes,
            detail: "over the \(configuration.limits.maxPayloadBytes)-byte limit (--max-payload-bytes)")
    }

    /// The commands the linkage rules ask for when `source` reports `event`.
    mutating func linkage(for event: String, from source: DeviceState, values: [String: Double] = [:], texts: [String: String] = [:]) -> [Action] {
        var actions: [Action] = []
        for rule in configuration.linkageRules
        where rule.triggered(by: event, kind: source.kind, zone: source.zone, texts: texts, conditionsIgnored: faults.linkageListsIgnored) {
            guard !faults.linkageDropped else {
                linkageDropped += 1
                continue
            }
            guard let arguments = rule.filledArguments(values: values, texts: texts) else {
                linkageUnfilled += 1
                continue
            }
            let targets = rule.targetsTrigger
                ? [source] : devices.values.filter { $0.id != source.id && rule.targets(kind: $0.kind, zone: $0.zone, triggerZone: source.zone) }
            for target in targets.sorted(by: { $0.id < $1.id }) {
                if let command = linkageCommand(
                    to: target, command: rule.command, arguments: arguments.sorted { $0.key < $1.key }.map { ($0.key, WireScalar(inferredFrom: $0.value)) },
                    rule: rule.id, trigger: source.id, checkedDrop: true) {
                    actions.append(command)
                }
            }
        }
        return actions
    }

    /// One linkage command to `target` on its command topic (nil without one), held back by the
    /// `linkage-delay` switch; dropped (and counted) under `linkage-dropped` unless the caller
    /// has already checked that switch.
    mutating func linkageCommand(to target: DeviceState, command: String, arguments: [(String, WireScalar)], rule: String, trigger: String,
                                 checkedDrop: Bool = false) -> Action? {
        guard let topic = target.commandTopic else { return nil }
        if !checkedDrop, faults.linkageDropped {
            linkageDropped += 1
            return nil
        }
        linkageCommands += 1
        let payload = DeviceEnvelope.command(
            id: "lk-\(rule)-\(linkageCommands)", command: command, arguments: arguments,
            extra: [("rule", JSONText.quoted(rule)), ("trigger", JSONText.quoted(trigger))])
        return .sendCommand(device: target.id, topic: topic, payload: payload, rule: rule, delay: faults.linkageDelay)
    }

    /// What the `texts-mangled` switch does to a text: everything outside ASCII is lost, as in a
    /// platform that reads UTF-8 as Latin-1 and stores it in an ASCII column (`京A12345` → `A12345`).
    static func mangled(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter(\.isASCII)))
    }

    /// Up to three keys for a log line, each cut short: the keys come from the wire.
    private static func keyList(_ keys: [String]) -> String {
        let shown = keys.prefix(3).map { JSONText.quoted(PlatformInputProblem.clipped($0, to: 64)) }.joined(separator: ", ")
        return keys.count > 3 ? "\(shown) and \(keys.count - 3) more" : shown
    }

    /// A message from a device on a protocol of its own (a robot's VDA 5050) that could not be read.
    mutating func countMalformed() { input.malformed += 1 }

    /// Time passed: devices silent for longer than the heartbeat timeout go offline.
    public mutating func tick(now: UInt64) -> [Action] {
        guard !faults.offlineDetectionDisabled else { return [] }
        var actions: [Action] = []
        let timeout = UInt64(configuration.heartbeatTimeout.components.seconds) * 1_000_000_000
        // GB/T 28181 cameras are judged by their SIP server (keepalive timeout), not by silence here.
        let chargerTimeout = chargerSilenceTimeout.map { UInt64($0.components.seconds) * 1_000_000_000 } ?? timeout
        for (id, state) in devices where !state.viaSIP && state.status != .offline && now > state.lastSeen
            && now - state.lastSeen > (state.viaOCPP ? chargerTimeout : timeout) {
            devices[id]?.status = .offline
            actions.append(.statusChanged(device: id, from: state.status, to: .offline))
        }
        return actions.sorted { "\($0)" < "\($1)" }
    }

    /// True once the platform should crash by the `crashAfterMessages` fault switch.
    public var shouldCrash: Bool {
        faults.crashAfterMessages.map { messagesSinceStart >= $0 } ?? false
    }
}

/// Online / abnormal / offline, as the park documents ask a platform to show (004 L725).
public enum DeviceStatus: String, Sendable, Hashable, Codable {
    case unknown, online, abnormal, offline
}

/// What the platform is told about its devices.
public struct PlatformConfiguration: Sendable {
    /// Events that raise an alarm northbound.
    public var alarmEvents: Set<String>
    /// Events that mark a device abnormal, and those that make it normal again.
    public var abnormalEvents: Set<String>
    public var recoveryEvents: Set<String>
    /// A device silent for longer than this is offline.
    public var heartbeatTimeout: Duration
    /// What to command when (see ``LinkageRule``).
    public var linkageRules: [LinkageRule]
    /// How much one device message may cost (see ``PlatformLimits``).
    public var limits: PlatformLimits
    /// The park's map for its robots: with it the fleet manager sends a robot whose battery runs
    /// low back to the nearest charger (004 L1700), by the shortest way.
    public var robotMap: ParkMap?

    public init(
        alarmEvents: Set<String> = ["smoke-alarm", "heat-alarm", "alarm", "tamper", "line-cut", "low-pressure", "leak", "over-limit"],
        abnormalEvents: Set<String> = ["fault", "low-battery", "battery-depleted"],
        recoveryEvents: Set<String> = ["fault-clear", "battery-ok"],
        heartbeatTimeout: Duration = .seconds(90), linkageRules: [LinkageRule] = [], limits: PlatformLimits = PlatformLimits(),
        robotMap: ParkMap? = nil
    ) {
        self.robotMap = robotMap
        self.limits = limits
        self.linkageRules = linkageRules
        self.alarmEvents = alarmEvents
        self.abnormalEvents = abnormalEvents
        self.recoveryEvents = recoveryEvents
        self.heartbeatTimeout = heartbeatTimeout
    }
}

/// What one device message may cost the platform. A message over either limit is refused,
/// counted in ``PlatformInputStatistics`` and logged (rate-limited), so a broken or hostile
/// device cannot stall the alarms of the others or grow the platform without end.
public struct PlatformLimits: Sendable, Hashable {
    /// 256 KiB: a real device message is well under 1 KiB; a few hundred values fit many times over.
    public static let defaultMaxPayloadBytes = 256 * 1024
    /// Far more points than any device model in the catalog reports.
    public static let defaultMaxValues = DeviceMessage.defaultMaxValues

    /// Larger payloads are refused before they are parsed (`--max-payload-bytes`).
    public var maxPayloadBytes: Int
    /// More entries in a message's `values` refuse the message; a device keeps at most this
    /// many latest values, later new point names being left out (`--max-values`).
    public var maxValues: Int

    public init(maxPayloadBytes: Int = Self.defaultMaxPayloadBytes, maxValues: Int = Self.defaultMaxValues) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxValues = maxValues
    }
}

/// Counts of what the platform refused or left out of device messages, for its statistics.
public struct PlatformInputStatistics: Sendable, Hashable {
    /// Not JSON, not an object, or without a `device`.
    public var malformed = 0
    /// Over ``PlatformLimits/maxPayloadBytes``: refused unread.
    public var oversized = 0
    /// More `values` than ``PlatformLimits/maxValues``: refused.
    public var tooManyValues = 0
    /// Single values left out (a number like `1e400` that is not a finite double); their message was kept.
    public var badValues = 0
    /// New point names not kept because the device already held ``PlatformLimits/maxValues`` points.
    public var pointsRefused = 0
    /// Telemetry and events whose msg_id the platform had already taken (QoS 1 sent again), not shown twice.
    public var duplicatesDropped = 0
    /// Telemetry and events thrown away as too old (the `stale-events-dropped` fault switch).
    public var staleDropped = 0

    public init() {}

    /// Messages refused whole.
    public var refusedMessages: Int { malformed + oversized + tooManyValues }
}

/// Something a device sent that the platform refused or left out, for one log line. It names
/// the topic, the device when known and the message's size — never the payload, which may be
/// huge or hold what should not reach a log; names from the wire are cut short.
public struct PlatformInputProblem: Sendable, Hashable, CustomStringConvertible {
    /// The kinds, as counted in ``PlatformInputStatistics``.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case malformed, oversized, tooManyValues = "too-many-values", badValue = "bad-value", pointsRefused = "points-refused"
    }

    public var kind: Kind
    public var topic: String
    public var device: String?
    /// The payload's size in bytes.
    public var bytes: Int
    public var detail: String

    public init(_ kind: Kind, topic: String, device: String?, bytes: Int, detail: String) {
        self.kind = kind
        self.topic = topic
        self.device = device
        self.bytes = bytes
        self.detail = detail
    }

    public var description: String {
        let from = device.map { " from device \(JSONText.quoted(Self.clipped($0, to: 64)))" } ?? ""
        let on = "\(from) on \(JSONText.quoted(Self.clipped(topic, to: 128))) (\(bytes) bytes)"
        switch kind {
        case .malformed, .oversized, .tooManyValues: return "refused a message\(on): \(detail)"
        case .badValue, .pointsRefused: return "in a message\(on): \(detail)"
        }
    }

    static func clipped(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length)) + "…"
    }
}

/// Ways to make the reference platform wrong on purpose, settable at start and at run time.
public struct PlatformFaults: Sendable, Hashable {
    /// Added before each alarm goes northbound.
    public var alarmDelay: Duration = .zero
    /// Alarms are swallowed.
    public var dropAlarms = false
    /// Values are multiplied by this before they go northbound (1: correct).
    public var valueScaling: Double = 1
    /// Devices are never marked offline: neither silence (heartbeat timeout) nor the broker's
    /// last will for a vanished connection is noticed.
    public var offlineDetectionDisabled = false
    /// The platform stops after this many messages.
    public var crashAfterMessages: Int?
    /// Linkage rules never fire.
    public var linkageDropped: Bool
    /// Linkage commands go out this long after the event that fired them (a slow rule engine:
    /// the barrier opens late).
    public var linkageDelay: Duration = .zero
    /// Rules' list conditions always hold: the gate opens for any plate, whitelisted or not.
    public var linkageListsIgnored = false
    /// Text values lose everything outside ASCII before they are kept and shown (an encoding
    /// slip): a plate's province character is gone.
    public var textsMangled = false
    /// Commands asked for through the API are accepted and never sent.
    public var commandsDropped: Bool
    /// GB/T 28181 cameras: only the first MESSAGE of a split Catalog response is kept.
    public var catalogTruncated: Bool
    /// GB/T 28181 cameras: keepalives are answered but not timed, so a camera that stops is
    /// never marked offline.
    public var keepalivesIgnored: Bool
    /// GB/T 28181 cameras: a REGISTER's digest is not held to the device's password, so any
    /// password (another device's, a wrong one) is taken — the `auth-disabled` switch's SIP half.
    public var sipPasswordsUnchecked = false
    /// GB/T 28181 live video: the INVITE goes out this long after it was asked for.
    public var videoDelay: Duration = .zero
    /// GB/T 28181 live video: packet N, 2N, … of every stream is thrown away on arrival (0: none).
    public var rtpLossOneIn = 0
    /// Telemetry and events whose device timestamp is older than this on arrival are thrown away
    /// as stale — what a platform that filters "old data" does to everything a device buffered
    /// through an outage.
    public var staleAfter: Duration?
    /// A message delivered again (same msg_id, QoS 1 after a reconnect) is shown again: alarms
    /// raised twice.
    public var duplicatesKept = false
    /// Processing that slows down as the load rises: every message costs this much for each
    /// 1,000 messages a second the platform takes in (see ``IntakeMeter``), so below the knee the
    /// platform keeps up and above it its queue — and every alarm's latency — grows without bound.
    public var slowUnderLoad: Duration?
    /// OCPP chargers: the central system takes this long over each call a charger makes — what
    /// the call says (a Faulted status's alarm) shows that late, and so does its answer.
    public var ocppSlowResponses: Duration = .zero
    /// OCPP chargers: every BootNotification is answered Rejected, so no charger is ever accepted.
    public var ocppBootsRejected = false
    /// Robots: the fleet manager ignores the errors in their states — no alarm, no return to
    /// charge on a low battery.
    public var robotErrorsIgnored = false
    /// Robots: the update that releases a task's horizon repeats the order's first
    /// `orderUpdateId` — a robot ignores it as the same order again and waits at the base's end.
    public var robotUpdatesStale = false
    /// Robots: a task's horizon is never released — the robot waits at the base's end for good.
    public var robotHorizonKept = false
    /// Robots: the platform's view of where a robot is (the position it shows) is refreshed at
    /// most this often, however often the robot says — a map that lags the park.
    public var robotViewInterval: Duration?
    /// The platform's MQTT connection starts a clean session each time instead of keeping its
    /// session on the broker: when the broker restarts, what devices send before the platform
    /// has subscribed again goes to nobody, and what the broker queued for it is gone.
    public var cleanSession = false

    public init(
        alarmDelay: Duration = .zero, dropAlarms: Bool = false, valueScaling: Double = 1,
        offlineDetectionDisabled: Bool = false, crashAfterMessages: Int? = nil, linkageDropped: Bool = false,
        commandsDropped: Bool = false, catalogTruncated: Bool = false, keepalivesIgnored: Bool = false
    ) {
        self.catalogTruncated = catalogTruncated
        self.keepalivesIgnored = keepalivesIgnored
        self.linkageDropped = linkageDropped
        self.commandsDropped = commandsDropped
        self.alarmDelay = alarmDelay
        self.dropAlarms = dropAlarms
        self.valueScaling = valueScaling
        self.offlineDetectionDisabled = offlineDetectionDisabled
        self.crashAfterMessages = crashAfterMessages
    }
}

/// An alarm as the platform raises it northbound.
public struct PlatformAlarm: Sendable, Hashable {
    public var id: Int
    public var device: String
    public var kind: String
    public var event: String
    /// The device's `msg_id`, echoed so a harness can correlate exactly.
    public var messageID: String?
    public var deviceTimeNanoseconds: Int64?
    public var receivedNanoseconds: UInt64
    public var values: [String: Double]

    public init(
        id: Int, device: String, kind: String, event: String, messageID: String?, deviceTimeNanoseconds: Int64?,
        receivedNanoseconds: UInt64, values: [String: Double]
    ) {
        self.id = id
        self.device = device
        self.kind = kind
        self.event = event
        self.messageID = messageID
        self.deviceTimeNanoseconds = deviceTimeNanoseconds
        self.receivedNanoseconds = receivedNanoseconds
        self.values = values
    }

    /// The northbound JSON.
    public var json: [UInt8] {
        var object: [String: Any] = [
            "alarm_id": id, "device": device, "kind": kind, "event": event,
            "received_ns": receivedNanoseconds, "values": values,
        ]
        if let messageID { object["msg_id"] = messageID }
        if let deviceTimeNanoseconds { object["device_ts_ns"] = deviceTimeNanoseconds }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Array(data)
    }
}

/// A device message as the platform stores it.
public struct RecordedMessage: Sendable, Hashable {
    public var device: String
    public var kind: String
    public var channel: String
    public var name: String?
    public var sequence: Int?
    public var messageID: String?
    public var deviceTimeNanoseconds: Int64?
    public var receivedNanoseconds: UInt64
    public var values: [String: Double]

    public init(
        device: String, kind: String, channel: String, name: String?, sequence: Int?, messageID: String?,
        deviceTimeNanoseconds: Int64?, receivedNanoseconds: UInt64, values: [String: Double]
    ) {
        self.device = device
        self.kind = kind
        self.channel = channel
        self.name = name
        self.sequence = sequence
        self.messageID = messageID
        self.deviceTimeNanoseconds = deviceTimeNanoseconds
        self.receivedNanoseconds = receivedNanoseconds
        self.values = values
    }
}

/// Telemetry as the platform shows it northbound (after its own processing, so a scaling fault
/// shows here as it would on a dashboard).
public struct PlatformTelemetry: Sendable, Hashable {
    public var device: String
    public var kind: String
    /// The device's `msg_id`, echoed so a harness can pair the value with what was sent.
    public var messageID: String?
    public var deviceTimeNanoseconds: Int64?
    public var receivedNanoseconds: UInt64
    public var values: [String: Double]

    /// The northbound JSON.
    public var json: [UInt8] {
        var object: [String: Any] = ["device": device, "kind": kind, "received_ns": receivedNanoseconds, "values": values]
        if let messageID { object["msg_id"] = messageID }
        if let deviceTimeNanoseconds { object["ts_ns"] = deviceTimeNanoseconds }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map(Array.init) ?? []
    }
}

/// A record of a device's event that carried text, as the platform shows it on its records
/// stream: a passage at a lane (`plate`, `confidence`), an access grant (`person`, `floor`).
public struct PlatformRecord: Sendable, Hashable {
    public var device: String
    public var kind: String
    public var event: String
    /// The device's `msg_id`, echoed so a harness can pair the record with what was sent.
    public var messageID: String?
    public var deviceTimeNanoseconds: Int64?
    public var receivedNanoseconds: UInt64
    public var values: [String: Double]
    public var texts: [String: String]

    /// The northbound JSON: numbers and texts together under `values`.
    public var json: [UInt8] {
        var fields: [String: Any] = values
        for (key, text) in texts { fields[key] = text }
        var object: [String: Any] = ["device": device, "kind": kind, "event": event, "received_ns": receivedNanoseconds, "values": fields]
        if let messageID { object["msg_id"] = messageID }
        if let deviceTimeNanoseconds { object["ts_ns"] = deviceTimeNanoseconds }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map(Array.init) ?? []
    }
}

/// Where a device sits, read from its topic when that follows `park/{zone}/{kind}/{id}/{channel}`.
struct DevicePlace {
    var zone: String?
    var commandTopic: String

    init?(topic: String) {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        guard let last = levels.last, ["telemetry", "event", "status"].contains(last), levels.count >= 2 else { return nil }
        zone = levels.count == 5 && levels[0] == "park" ? String(levels[1]) : nil
        commandTopic = levels.dropLast().joined(separator: "/") + "/cmd"
    }

    /// The device id a `park/{zone}/{kind}/{id}/{channel}` topic names, to say whose message
    /// was refused when its payload was not read.
    static func device(topic: String) -> String? {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        return levels.count == 5 && levels[0] == "park" && !levels[3].isEmpty ? String(levels[3]) : nil
    }
}

extension PlatformCore {
    /// A device on a protocol of its own (OCPP, VDA 5050) was heard: created if new, marked as
    /// reached by `protocolFlag`, counted, and online when `comesOnline` allows it from its status.
    mutating func heard(_ id: String, kind: String, via protocolFlag: WritableKeyPath<DeviceState, Bool>, now: UInt64,
                        comesOnline: (DeviceStatus) -> Bool) -> [Action] {
        var state = devices[id] ?? DeviceState(
            id: id, kind: kind, status: .unknown, lastSeen: now, lastSequence: 0, gaps: 0, duplicates: 0, messages: 0)
        let before = devices[id]?.status
        state[keyPath: protocolFlag] = true
        state.lastSeen = now
        state.messages += 1
        if comesOnline(state.status) { state.status = .online }
        devices[id] = state
        return before == state.status ? [] : [.statusChanged(device: id, from: before, to: state.status)]
    }
}
