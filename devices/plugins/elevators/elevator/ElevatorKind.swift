import ParkPluginKit

/// The `elevator` kind as ParkBench sees it: points, events, commands, stimuli and the
/// parameters a model profile may set.
///
/// One passenger lift under seed 004's elevator monitoring (L3341-3359): the platform watches
/// it rather than drives it (只监不控, L3345) and collects the GB/T 24476-style monitoring data
/// of L3349 (floor, direction, door state, running status, faults). The two things it may ask
/// are a hall call (as the access control and the indoor units do, L2457-2460) and fire homing:
/// on a fire the car goes straight to the ground floor, opens its doors and leaves automatic
/// operation (L3353), and the platform raises an alarm (L3359). The harness plays the
/// passengers: car calls, trapped passengers, the in-car alarm button of the five-party
/// intercom (L2588, L2719), door and overspeed faults, maintenance.
enum ElevatorKind {
    static let description = PluginKindDescription(
        name: "elevator",
        summary: "Passenger elevator under monitoring: serves hall and car calls in order, reports floor, direction, door and status, homes to the ground floor on fire, reports trapped passengers, alarm calls and faults",
        sources: [
            "004_5e9061d643d5fb41.txt L3341-3359",
            "004_5e9061d643d5fb41.txt L2588",
            "004_5e9061d643d5fb41.txt L2719",
        ],
        points: [
            PluginPointDescription(name: "floor", type: .int, summary: "The floor the car is at, or last passed while travelling (1 is the lowest)"),
            PluginPointDescription(name: "direction", type: .string, summary: "up, down or idle (stopped)"),
            PluginPointDescription(name: "door", type: .string, summary: "open, closed, opening or closing"),
            PluginPointDescription(name: "status", type: .string, summary: "normal, fire (fire homing, automatic operation cut), maintenance, fault or trapped"),
        ],
        events: [
            PluginEventDescription(name: "arrived", severity: .info, summary: "The car stopped at a floor it was called to (its doors open next); reading floor"),
            PluginEventDescription(name: "door-opened", severity: .info, summary: "The doors are fully open; reading floor"),
            PluginEventDescription(name: "door-closed", severity: .info, summary: "The doors are fully closed; reading floor"),
            PluginEventDescription(name: "fire-homed", severity: .alarm, summary: "Fire homing done: the car is at the ground floor with its doors open and stays there (004 L3353, L3359); readings floor, door"),
            PluginEventDescription(name: "trapped", severity: .alarm, summary: "Passengers trapped: the car stopped where it was with its doors closed; reading floor"),
            PluginEventDescription(name: "emergency-call", severity: .alarm, summary: "The in-car alarm button of the five-party intercom was pressed (004 L2588, L3357); reading floor"),
            PluginEventDescription(name: "door-fault", severity: .critical, summary: "Door fault: the car stops and calls are rejected until repaired; reading floor"),
            PluginEventDescription(name: "overspeed", severity: .critical, summary: "Overspeed: the safety gear stopped the car; calls are rejected until repaired; reading floor"),
            PluginEventDescription(name: "fault-cleared", severity: .info, summary: "Faults repaired; reading floor"),
            PluginEventDescription(name: "released", severity: .info, summary: "Trapped passengers released by the rescue; reading floor"),
            PluginHeartbeat.event(readings: "status"),
        ],
        commands: [
            PluginCommandDescription(
                name: "call",
                arguments: [PluginArgumentDescription(name: "floor", type: .int, summary: "The floor called from, 1 to floors")],
                summary: "Hall call: queued, the car goes there and cycles its doors. Rejected in fire, maintenance, fault or trapped status and for a floor outside 1…floors"),
            PluginCommandDescription(name: "fire-homing", summary: "Fire homing: calls cancelled, doors closed, the car goes straight to ground_floor, opens its doors and stays (fire-homed). Rejected while trapped or in fault"),
            PluginCommandDescription(name: "restore", summary: "Back to normal from fire or maintenance; doors held open close. Rejected while trapped or in fault"),
        ],
        stimuli: [
            PluginStimulusDescription(
                name: "car-call",
                arguments: [PluginArgumentDescription(name: "floor", type: .int, summary: "The floor button pressed, 1 to floors")],
                summary: "A passenger presses a floor button in the car: served like a call; ignored unless the status is normal"),
            PluginStimulusDescription(name: "trapped", summary: "The car stops where it is with its doors closed and passengers inside: trapped"),
            PluginStimulusDescription(name: "release", summary: "The rescue releases the trapped passengers: released"),
            PluginStimulusDescription(name: "door-fault", summary: "The doors fail: the car stops, status fault"),
            PluginStimulusDescription(name: "overspeed", summary: "The car overspeeds and the safety gear stops it: status fault"),
            PluginStimulusDescription(name: "repair", summary: "The faults are repaired: fault-cleared"),
            PluginStimulusDescription(name: "emergency-call", summary: "Someone in the car presses the alarm button: emergency-call, the status is unchanged"),
            PluginStimulusDescription(
                name: "maintenance",
                arguments: [PluginArgumentDescription(name: "on", type: .bool, summary: "true: the car goes into maintenance; false: back in service")],
                summary: "A technician switches the car to maintenance (inspection) or back: calls are rejected while on"),
        ],
        parameters: [
            PluginParameterDescription(name: "floors", type: .int, defaultValue: "10", minimum: 2, maximum: 200, unit: "floors", summary: "Floors served, numbered 1 to floors"),
            PluginParameterDescription(name: "ground_floor", type: .int, defaultValue: "1", minimum: 1, maximum: 200, summary: "Where fire homing takes the car (004 L3353: the first floor); at most floors"),
            PluginParameterDescription(name: "start_floor", type: .int, defaultValue: "1", minimum: 1, maximum: 200, summary: "Where the car is when the device starts; at most floors"),
            PluginParameterDescription(name: "floor_time", type: .duration, defaultValue: "2s", minimum: 0.001, maximum: 600, summary: "Time to travel one floor"),
            PluginParameterDescription(name: "door_time", type: .duration, defaultValue: "3s", minimum: 0.001, maximum: 600, summary: "Time for the doors to open fully, or to close fully"),
            PluginParameterDescription(name: "dwell_time", type: .duration, defaultValue: "3s", minimum: 0, maximum: 600, summary: "How long the doors stay open at a stop before closing"),
            PluginParameterDescription(name: "report_interval", type: .duration, defaultValue: "10s", minimum: 0.001, summary: "Time between monitoring reports (telemetry floor, direction, door, status)"),
            PluginHeartbeat.parameter(),
        ])

    /// Timer tags: the low byte names the timer; for the car's motion timers the bits above
    /// carry a generation, so fire homing, a trap or a fault make the pending one stale.
    enum Timer: UInt32 {
        case heartbeat = 1
        case report = 2
        /// The car has travelled one more floor.
        case travel = 3
        /// The doors finished opening or closing.
        case door = 4
        /// The doors have stayed open dwell_time: they start closing.
        case dwell = 5
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: ElevatorKind.description, device: Elevator.self, host: host, into: plugin)
}
