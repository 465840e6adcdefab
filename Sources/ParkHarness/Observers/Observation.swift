import Foundation
import Synchronization

/// What a northbound stream carries.
public enum ObservationKind: String, Sendable, Hashable, CaseIterable {
    /// An alarm the platform raised (its event, the device, maybe the device's msg_id).
    case alarm
    /// A device's status as the platform shows it (online / offline / abnormal).
    case status
    /// A value the platform holds for a device's point.
    case telemetry
    /// A video device's channel list as the platform assembled it from the device's Catalog
    /// answer: values `channels` (items it holds) and `sum_num` (what the device said it has).
    case catalog
    /// A live video session as the platform's receiver sees it: event `playing` (the first whole
    /// key frame arrived), `stats` (its figures so far), `failed` or `stopped`; values such as
    /// `frames`, `lost`, `incomplete_frames`, `malformed_frames`, `jitter_ms`, `frame_rate`.
    case video
    /// A record the platform keeps and shows of something a device reported — a car's passage
    /// at a lane with the plate it read, an access grant with the person: values and texts.
    case record
}

/// One thing the system under test was seen to do, stamped when the harness saw it.
public struct Observation: Sendable, Hashable {
    public var kind: ObservationKind
    /// Which stream: `mqtt platform/alarms`, `webhook /alarms`, `rest http://…`.
    public var source: String
    public var device: String
    public var event: String?
    public var status: String?
    public var messageID: String?
    public var sequence: Int?
    public var values: [String: Double]
    /// The text values (a plate, a person), every string of the mapped `values` object.
    public var texts: [String: String] = [:]
    /// Wall-clock nanoseconds when it arrived at the harness.
    public var arrivedNanoseconds: Int64

    public init(
        kind: ObservationKind, source: String, device: String, event: String? = nil, status: String? = nil,
        messageID: String? = nil, sequence: Int? = nil, values: [String: Double] = [:], texts: [String: String] = [:],
        arrivedNanoseconds: Int64
    ) {
        self.texts = texts
        self.kind = kind
        self.source = source
        self.device = device
        self.event = event
        self.status = status
        self.messageID = messageID
        self.sequence = sequence
        self.values = values
        self.arrivedNanoseconds = arrivedNanoseconds
    }

    /// Maps one parsed JSON message through a stream's field mapping; nil (and why) when the
    /// message lacks the device field.
    static func mapped(
        _ json: Any, fields: FieldMapping, kind: ObservationKind, source: String, arrived: Int64, topic: String? = nil
    ) -> Result<Observation, ObservationProblem> {
        func text(_ field: String, _ path: FieldPath?) -> String? { fields.text(field, path: path, in: json, topic: topic) }
        guard let device = text("device", fields.device), !device.isEmpty else {
            let place = fields.device.map(\.description) ?? "topic level \(fields.topicCaptures["device"] ?? 0)"
            return .failure(ObservationProblem(source: source, message: "no device at \(place)"))
        }
        var values: [String: Double] = [:]
        var texts: [String: String] = [:]
        if let path = fields.values, let object = path.value(in: json) as? [String: Any] {
            for (key, value) in object {
                if let number = value as? NSNumber { values[key] = number.doubleValue }
                else if let text = value as? String {
                    texts[key] = text
                    if let number = Double(text) { values[key] = number }
                }
            }
        }
        var status: String?
        if let raw = text("status", fields.status) {
            // A value the profile's vocabulary does not know is evidence, not a status.
            guard let known = fields.vocabulary.parkStatus(for: raw) else {
                let place = fields.status.map(\.description) ?? "the topic"
                return .failure(ObservationProblem(
                    source: source, message: "\(device): status value '\(raw)' at \(place) matched nothing in vocabulary.status"))
            }
            status = known
        }
        return .success(Observation(
            kind: kind, source: source, device: device, event: text("event", fields.event),
            status: status, messageID: text("msg_id", fields.messageID),
            sequence: text("seq", fields.sequence).flatMap { Double($0) }.map { Int($0) }, values: values,
            texts: texts, arrivedNanoseconds: arrived))
    }
}

/// A northbound message the harness could not use, kept as evidence that the platform
/// answered garbage.
public struct ObservationProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var message: String
    public var description: String { "\(source): \(message)" }
}

/// Every observation of a run, in arrival order, shared by the observers (writers) and the
/// checks (readers). Keeps the first problems verbatim and counts the rest.
public final class ObservationLog: Sendable {
    private struct State {
        var observations: [Observation] = []
        var problems: [ObservationProblem] = []
        var problemCount = 0
        var aliases: [String: String] = [:]
    }

    private let state = Mutex(State())
    private static let keptProblems = 20

    public init() {}

    public func append(_ observation: Observation) {
        state.withLock { state in
            var observation = observation
            if let device = state.aliases[observation.device] { observation.device = device }
            state.observations.append(observation)
        }
    }

    /// Other names the platform knows devices by, each mapped to the park's device id: a video
    /// platform names cameras and their channels by their 20-digit GB/T 28181 ids, so an alarm it
    /// raises for channel `34020000001310000003` is recorded as the park's `cam-gate-3`.
    public func addAliases(_ aliases: [String: String]) {
        state.withLock { $0.aliases.merge(aliases) { $1 } }
    }

    public func report(_ problem: ObservationProblem) {
        state.withLock {
            $0.problemCount += 1
            if $0.problems.count < Self.keptProblems { $0.problems.append(problem) }
        }
    }

    public var count: Int { state.withLock { $0.observations.count } }

    /// Observations of `kind` that arrived at or after `since` (wall ns).
    public func observations(_ kind: ObservationKind, since: Int64 = 0) -> [Observation] {
        state.withLock { state in state.observations.filter { $0.kind == kind && $0.arrivedNanoseconds >= since } }
    }

    /// What arrived after the first `cursor` observations (0 at first), and the cursor to pass
    /// next: how a check that runs for an hour reads what is new without rescanning the rest.
    public func observations(after cursor: Int) -> (new: [Observation], next: Int) {
        state.withLock { state in
            let start = min(max(0, cursor), state.observations.count)
            return (Array(state.observations[start...]), state.observations.count)
        }
    }

    /// The first problems and how many there were in all.
    public var problems: (first: [ObservationProblem], total: Int) {
        state.withLock { ($0.problems, $0.problemCount) }
    }
}
