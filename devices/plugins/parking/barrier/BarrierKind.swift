import ParkPluginKit

/// The `barrier` kind as ParkBench sees it: points, events, commands, stimuli and the
/// parameters a model profile may set.
///
/// The boom barrier (道闸) of a car-park entrance or exit lane, as in seed 004's car-park
/// charging hardware: the arm rises and falls within 1.5 s (L2168). The platform opens it when
/// the plate reader at the same lane has read an admitted plate; the harness makes vehicles
/// pass, stop under the arm, ram it, and the motor fail.
enum BarrierKind {
    static let description = PluginKindDescription(
        name: "barrier",
        summary: "Car-park boom barrier: opens and closes on command, closes by itself after a vehicle passes, reverses on obstacles, reports rams and motor faults",
        sources: ["004_5e9061d643d5fb41.txt L2168"],
        points: [
            PluginPointDescription(name: "position", type: .string, summary: "down, rising, up or falling"),
            PluginPointDescription(name: "opens", type: .int, unit: "times", summary: "Times the arm reached fully up since the device started"),
            PluginPointDescription(name: "vehicles_passed", type: .int, unit: "vehicles", summary: "Vehicles that drove through the lane since the device started (rams included)"),
        ],
        events: [
            PluginEventDescription(name: "raised", severity: .info, summary: "The arm is fully up; readings position, opens"),
            PluginEventDescription(name: "lowered", severity: .info, summary: "The arm is fully down; readings position, vehicles_passed"),
            PluginEventDescription(name: "obstacle", severity: .warning, summary: "Lowering stopped by an obstacle under the arm; the arm goes back up (raised follows)"),
            PluginEventDescription(name: "rammed", severity: .critical, summary: "A vehicle broke through the arm while it was not up; the barrier is then in fault"),
            PluginEventDescription(name: "fault", severity: .critical, summary: "Motor fault: the arm stops and open/close are rejected until repaired"),
            PluginEventDescription(name: "fault-cleared", severity: .info, summary: "Repaired: the fault is cleared and the arm is down"),
            PluginHeartbeat.event(readings: "position"),
        ],
        commands: [
            PluginCommandDescription(name: "open", summary: "Raise the arm (raised follows); when already up, restart the auto-close timer. Rejected in fault"),
            PluginCommandDescription(name: "close", summary: "Lower the arm (lowered follows). Rejected in fault"),
        ],
        stimuli: [
            PluginStimulusDescription(name: "pass", summary: "A vehicle drives through; while the arm is up the auto-close timer restarts"),
            PluginStimulusDescription(name: "obstacle", summary: "Something is under the arm: a lowering in progress reverses now, otherwise the next lowering reverses halfway down"),
            PluginStimulusDescription(name: "ram", summary: "A vehicle breaks through the arm while it is not up: rammed, then in fault (while up it is just a pass)"),
            PluginStimulusDescription(name: "fault", summary: "The motor fails: the arm stops where it is"),
            PluginStimulusDescription(name: "repair", summary: "The fault is repaired: fault-cleared, the arm is down"),
        ],
        parameters: [
            PluginParameterDescription(name: "rise_time", type: .duration, defaultValue: "1.2s", minimum: 0.001, maximum: 60, summary: "Time from fully down to fully up (004 L2168 asks for at most 1.5 s)"),
            PluginParameterDescription(name: "fall_time", type: .duration, defaultValue: "1.5s", minimum: 0.001, maximum: 60, summary: "Time from fully up to fully down"),
            PluginParameterDescription(name: "auto_close", type: .duration, defaultValue: "5s", minimum: 0, summary: "The arm lowers by itself this long after it is raised or a vehicle passes under it; 0s disables"),
            PluginHeartbeat.parameter(),
        ])

    /// Timer tags: the low byte names the timer, the bits above carry a generation where a
    /// newer movement or auto-close supersedes the pending one.
    enum Timer: UInt32 {
        case heartbeat = 1
        /// The arm reaches the end of its current movement.
        case motion = 2
        /// The arm meets an obstacle halfway down.
        case obstacle = 3
        case autoClose = 4
    }
}

/// The one symbol ParkBench looks up in this library.
@_cdecl("parkbench_plugin_v1")
public func parkbenchPluginV1(
    _ host: UnsafePointer<pb_host_v1>?, _ plugin: UnsafeMutablePointer<pb_plugin_v1>?
) -> Int32 {
    PluginExport.install(kind: BarrierKind.description, device: Barrier.self, host: host, into: plugin)
}
