import ParkProfiles

/// An alarm the harness raises at some devices and waits for at the platform: which devices, the
/// stimulus that makes them alarm, the event the platform must show, and what puts them back.
/// A failover check's outage alarms and a load check's probes are written the same way:
///
/// ```yaml
/// devices: {kind: smoke-detector}
/// stimulus: {stimulus: smoke, arguments: {density: 0.45}}
/// observe: {event: smoke-alarm}
/// after: [{stimulus: smoke-clear}]
/// ```
public struct AlarmStimulus: Sendable {
    public var devices: DeviceSelector
    public var stimulus: DeviceAction
    public var event: String
    public var after: [DeviceAction]

    /// The keys ``parse(_:)`` reads; the caller finishes the mapping with these and its own.
    static let keys = ["devices", "stimulus", "observe", "after"]

    /// Reads the alarm's keys from `reader`, logging problems; nil when one is missing or wrong.
    static func parse(_ reader: inout MappingReader) -> AlarmStimulus? {
        let log = reader.log
        let selector = DeviceSelector.parse(&reader, key: "devices", required: true)
        let stimulus = reader.requiredValue("stimulus", expected: "{stimulus: name, arguments: {...}}")
            .flatMap { DeviceAction.parse($0, path: reader.child("stimulus"), log: log) }
        var event: String?
        if let observeNode = reader.requiredValue("observe", expected: "the alarm the platform must show: {event: name}"),
           var observe = MappingReader(observeNode, path: reader.child("observe"), log: log, what: "an observation") {
            event = observe.string("event", required: true, expected: "the event the platform must show")
            observe.finish(allowed: ["event"])
        }
        let after = (reader.sequence("after") ?? []).enumerated().compactMap { index, node in
            DeviceAction.parse(node, path: reader.child("after[\(index)]"), log: log)
        }
        guard let selector, let stimulus, let event else { return nil }
        return AlarmStimulus(devices: selector, stimulus: stimulus, event: event, after: after)
    }
}
