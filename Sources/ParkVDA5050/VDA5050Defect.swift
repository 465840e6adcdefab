/// A firmware bug a simulated robot can be given (its model's `vda5050.defects`), so that
/// `certify --robot` is seen to catch it: each breaks one rule of VDA 5050 2.x that one certify
/// case judges, the way vendors' robots have been seen to.
public enum VDA5050Defect: String, CaseIterable, Hashable, Sendable {
    /// `connection` ONLINE is published live, not retained: a fleet controller that starts
    /// later never learns the robot is there (case `connection`).
    case connectionNotRetained = "connection-not-retained"
    /// A `stateRequest` is answered with a state, but the action never appears in
    /// `actionStates` (case `state-request`).
    case stateRequestUnreported = "state-request-unreported"
    /// A `factsheetRequest` is ignored; the factsheet goes out only on connect (case `factsheet`).
    case factsheetRequestIgnored = "factsheet-request-ignored"
    /// The robot's map is a metre off the fleet controller's: it stops a metre from each node
    /// yet reports the node reached (case `order-completed`).
    case mapOffset = "map-offset"
    /// When an order ends, its finished actions are reported FAILED in the next state: a
    /// status that goes back (case `action-states`).
    case finishedActionsFailed = "finished-actions-failed"
    /// The robot drives into the horizon, nodes not yet released (case `order-update`).
    case horizonDriven = "horizon-driven"
    /// An order update older than the current one is dropped without the `orderUpdateError`
    /// the standard asks for (case `stale-update-rejected`).
    case staleUpdatesIgnored = "stale-updates-ignored"
    /// An update is taken wherever it starts, not only where the base ends (case
    /// `broken-stitch-rejected`).
    case brokenStitchAccepted = "broken-stitch-accepted"
    /// A new order while one is driven replaces it instead of being rejected (case
    /// `busy-order-rejected`).
    case busyOrderAccepted = "busy-order-accepted"
    /// `startPause` is reported (paused, FINISHED) but the robot drives on (case `pause`).
    case pauseIgnored = "pause-ignored"
    /// `cancelOrder` is reported FINISHED but the order is driven on (case `cancel-order`).
    case cancelIgnored = "cancel-ignored"
    /// The `state` headerId starts from 0 again with each new order (case `header-ids`).
    case headerIdsRestart = "header-ids-restart"
    /// The robot connects without a last will: a cut connection goes unannounced (case
    /// `last-will`).
    case noLastWill = "no-last-will"
}
