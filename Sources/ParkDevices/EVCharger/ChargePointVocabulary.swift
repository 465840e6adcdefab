/// A connector's status, spelled as OCPP 1.6 ChargePointStatus spells it, because the `status`
/// emission's text is what the OCPP binding puts in StatusNotification unchanged.
///
/// `Reserved` is not a case: nothing here reserves a connector (no ReserveNow), so a charger of
/// this kind is never in it.
enum ConnectorStatus: String, CaseIterable, Sendable {
    case available = "Available"
    case preparing = "Preparing"
    case charging = "Charging"
    case suspendedEV = "SuspendedEV"
    case suspendedEVSE = "SuspendedEVSE"
    case finishing = "Finishing"
    case unavailable = "Unavailable"
    case faulted = "Faulted"
}

/// The OCPP 1.6 ChargePointErrorCode a connector reports with its status: `NoError`, or the
/// fault that put it in Faulted.
enum ChargePointErrorCode: String, Sendable {
    case noError = "NoError"
    case groundFailure = "GroundFailure"
    case highTemperature = "HighTemperature"
    case connectorLockFailure = "ConnectorLockFailure"

    /// The fault stimuli and the error code each latches: the stimulus name is also the alarm
    /// event's name, so the platform sees the same word the harness used.
    static let faultStimuli: [(stimulus: String, code: ChargePointErrorCode, summary: String)] = [
        ("ground-fault", .groundFailure, "Residual current / earth fault detected: charging cut off at once (004 L2215)"),
        ("over-temperature", .highTemperature, "The station or a cable overheats (over-temperature protection, 004 L2215)"),
        ("connector-lock-failure", .connectorLockFailure, "The connector lock does not engage or release"),
    ]
}

/// Why a session stopped, spelled as OCPP 1.6 StopTransaction's Reason, which the binding sends
/// unchanged. Only the reasons this kind can produce are cases.
enum StopReason: String, Sendable {
    /// A card swiped at the charger ended its own session.
    case local = "Local"
    /// The central system sent RemoteStopTransaction.
    case remote = "Remote"
    /// The cable was pulled while the session ran.
    case evDisconnected = "EVDisconnected"
    /// The station lost power; reported when it comes back.
    case powerLoss = "PowerLoss"
    /// A fault, or an unlock command, ended it.
    case other = "Other"
    case hardReset = "HardReset"
    case softReset = "SoftReset"
}
