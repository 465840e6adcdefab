import ParkPluginKit

/// The `lane` kind as ParkBench sees it: the traffic at one car-park lane and the lane's own
/// terminal, as one device.
///
/// Vehicles arrive (a Poisson stream at `arrival_rate`, a `rush` of a given rate and length, or
/// one `vehicle` at a time) and queue. The one at the front is read by the lane's camera — the
/// integrated recognition terminal most entrance lanes have — and waits for the platform's
/// `open`; the arm rises, the vehicle drives through and the next one moves up. A vehicle the
/// platform does not let in within `patience` turns away. So the platform's decision time becomes
/// what a park sees at 8 a.m.: a queue, waits, vehicles turned away, throughput — seed 004's lane
/// figures (the plate found within 5 s, L2187; the arm up within 1.5 s, L2168) under rush-hour
/// traffic rather than one car at a time.
enum LaneKind {
    static let description = PluginKindDescription(
        name: "lane",
        summary: "A car-park lane with its traffic: vehicles arrive, are read, wait for the platform to open, pass or turn away",
        sources: [
            "004_5e9061d643d5fb41.txt L2164-2199",
            "004_5e9061d643d5fb41.txt L2168",
            "004_5e9061d643d5fb41.txt L2187",
        ],
        points: [
            PluginPointDescription(name: "plate", type: .string, summary: "The plate as read at the front of the lane; the truth is the vehicle's real plate"),
            PluginPointDescription(name: "confidence", type: .double, summary: "The read's confidence, 0-1"),
            PluginPointDescription(name: "queue", type: .int, unit: "vehicles", summary: "Vehicles in the lane, the one at the front included"),
            PluginPointDescription(name: "wait", type: .double, unit: "s", summary: "From arriving in the lane to passing (or turning away)"),
            PluginPointDescription(name: "passed", type: .int, unit: "vehicles", summary: "Vehicles let through since start"),
            PluginPointDescription(name: "turned_away", type: .int, unit: "vehicles", summary: "Vehicles that gave up waiting since start"),
            PluginPointDescription(name: "arrived", type: .int, unit: "vehicles", summary: "Vehicles that arrived since start"),
        ],
        events: [
            PluginEventDescription(name: "plate", severity: .info, summary: "The vehicle at the front was read; readings plate (value read, truth real), confidence, queue"),
            PluginEventDescription(name: "raised", severity: .info, summary: "The arm is up for the vehicle at the front, rise_time after open (004 L2168: at most 1.5 s); reading queue"),
            PluginEventDescription(name: "passed", severity: .info, summary: "A vehicle drove through; readings plate (its real plate), wait, queue, passed"),
            PluginEventDescription(name: "turned-away", severity: .warning, summary: "A vehicle gave up after patience without the lane opening; readings plate, wait, queue, turned_away"),
            PluginEventDescription(name: "cleared", severity: .info, summary: "The lane was cleared by command: every vehicle in it reversed out; readings queue (0), turned_away"),
            PluginHeartbeat.event(readings: "queue"),
        ],
        commands: [
            PluginCommandDescription(name: "open", summary: "Let the vehicle at the front through: the arm rises (rise_time), it passes (pass_time); accepted with nothing waiting, to no effect"),
            PluginCommandDescription(name: "clear", summary: "Every vehicle in the lane reverses out (counted turned_away), as staff clear a blocked lane; a vehicle already under a raised arm goes too"),
        ],
        stimuli: [
            PluginStimulusDescription(
                name: "vehicle",
                arguments: [
                    PluginArgumentDescription(name: "plate", type: .string, summary: "The vehicle's real plate, 1-16 characters"),
                ],
                summary: "One vehicle joins the back of the queue"),
            PluginStimulusDescription(
                name: "rush",
                arguments: [
                    PluginArgumentDescription(name: "rate", type: .double, summary: "Arrivals per hour during the rush (Poisson), more than 0"),
                    PluginArgumentDescription(name: "duration", type: .duration, summary: "How long the rush lasts; then arrival_rate again"),
                ],
                summary: "Traffic at a rate for a while, e.g. 600 vehicles an hour for 30m: the morning rush"),
        ],
        parameters: [
            PluginParameterDescription(name: "arrival_rate", type: .double, defaultValue: "0", minimum: 0, maximum: 36_000, summary: "Arrivals per hour outside a rush (Poisson); 0: only what the harness sends"),
            PluginParameterDescription(name: "known_plates", type: .string, defaultValue: "", summary: "Comma-separated plates the park knows (its whitelist), drawn for known_share of arrivals"),
            PluginParameterDescription(name: "known_share", type: .double, defaultValue: "1", minimum: 0, maximum: 1, summary: "Fraction of generated arrivals with a known plate; the rest get a random plate"),
            PluginParameterDescription(name: "recognition_time", type: .duration, defaultValue: "300ms", minimum: 0.001, maximum: 60, summary: "Mean time from reaching the front to the read (004 L2187: at most 5 s)"),
            PluginParameterDescription(name: "recognition_jitter", type: .duration, defaultValue: "100ms", minimum: 0, maximum: 60, summary: "Each read takes recognition_time plus or minus up to this much, never under 1 ms"),
            PluginParameterDescription(name: "error_rate", type: .double, defaultValue: "0.003", minimum: 0, maximum: 1, summary: "Chance a read gets one character wrong"),
            PluginParameterDescription(name: "rise_time", type: .duration, defaultValue: "1s", minimum: 0.001, maximum: 60, summary: "From open to the arm up (004 L2168: at most 1.5 s)"),
            PluginParameterDescription(name: "pass_time", type: .duration, defaultValue: "3s", minimum: 0.001, maximum: 600, summary: "From the arm up to the vehicle clear of the lane, the next one moving up"),
            PluginParameterDescription(name: "patience", type: .duration, defaultValue: "30s", minimum: 0.001, maximum: 3_600, summary: "How long a read vehicle waits for open before it turns away"),
            PluginParameterDescription(name: "report_interval", type: .duration, defaultValue: "30s", minimum: 0.001, summary: "Time between telemetry reports (queue, arrived, passed, turned_away)"),
            PluginHeartbeat.parameter(),
        ])

    /// Timer tags: the low byte names the timer; the bits above carry a generation, so a timer
    /// left over from an earlier vehicle or an earlier rate is told apart and ignored.
    enum Timer: UInt32 {
        case heartbeat = 1
        case report = 2
        case arrival = 3
        case rushEnd = 4
        case read = 5
        case patience = 6
        case raised = 7
        case cleared = 8
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: LaneKind.description, device: Lane.self, host: host, into: plugin)
}
