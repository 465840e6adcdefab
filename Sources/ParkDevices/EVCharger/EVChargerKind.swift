import ParkCore

/// An AC or DC EV charging station with 1–4 connectors (智能充电桩), modelled as OCPP 1.6
/// needs it: connector statuses, authorisation, sessions with an energy register, meter values,
/// charging limits, availability, faults and power loss.
///
/// Behaviour from seed 004: chargers are networked to the park's server and users query and pay
/// for charging from their phones (L2156–2160); they protect against over-temperature and
/// output faults, can cut the charging circuit in an emergency, and show energy, voltage and
/// current while charging (L2209–2224); the platform monitors charging in real time, shows
/// alarms and starts and stops charging remotely (L2295–2305). The OCPP binding turns the
/// emissions below into StatusNotification, Authorize, Start/StopTransaction and MeterValues,
/// and platform requests into the commands; the kind itself knows no wire.
///
/// Emission names and readings are the binding's contract: `status`, `authorize`,
/// `session-start`, `meter`, `session-stop`, the fault events, and `offline`/`online`.
public struct EVChargerKind: DeviceKind {
    public static let name = "ev-charger"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        try EVCharger(setup: setup)
    }

    /// Timer ids (the tag's low byte) used by ``EVCharger``: the boot, and per connector its
    /// meter sampling and its wait for a plug. The connector number sits in the low nibble.
    struct Timer: RawRepresentable, Sendable {
        let rawValue: UInt32

        static let boot = Timer(rawValue: 0x01)
        static let meterBase: UInt32 = 0x10
        static let plugWaitBase: UInt32 = 0x20

        static func meter(_ connector: Int) -> Timer { Timer(rawValue: meterBase | UInt32(connector)) }
        static func plugWait(_ connector: Int) -> Timer { Timer(rawValue: plugWaitBase | UInt32(connector)) }
    }

    /// The most connectors a station may have.
    static let maxConnectors = 4

    private static let connectorArgument = ArgumentDescriptor(name: "connector", type: .int, required: false, summary: "Connector 1…connectors (default 1)")

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "EV charging station (AC or DC, 1–4 connectors) as OCPP 1.6 sees it: connector statuses, authorisation, remote start/stop, sessions with an energy register and meter values, tapering charge, charging limits, availability, faults, power loss",
        sources: [
            "004_5e9061d643d5fb41.txt L2156-2160",
            "004_5e9061d643d5fb41.txt L2209-2224",
            "004_5e9061d643d5fb41.txt L2295-2305",
        ],
        points: [
            PointDescriptor(name: "status", type: .string, summary: "Per connector (reading connector; 0 is the station): OCPP 1.6 status Available, Preparing, Charging, SuspendedEV, SuspendedEVSE, Finishing, Unavailable or Faulted"),
            PointDescriptor(name: "error_code", type: .string, summary: "Per connector: NoError, GroundFailure, HighTemperature or ConnectorLockFailure"),
            PointDescriptor(name: "energy_wh", type: .double, unit: "Wh", summary: "Per connector: energy register, monotonic, never reset"),
            PointDescriptor(name: "session_wh", type: .double, unit: "Wh", summary: "Energy delivered in the running session"),
            PointDescriptor(name: "power_w", type: .double, unit: "W", summary: "Charging power: min(max_power_kw, charging limit, what the EV accepts at its SoC)"),
            PointDescriptor(name: "current_a", type: .double, unit: "A", summary: "Charging current per phase (AC) or of the DC output"),
            PointDescriptor(name: "voltage_v", type: .double, unit: "V", summary: "Phase voltage (AC) or DC output voltage"),
            PointDescriptor(name: "soc", type: .double, unit: "%", summary: "The plugged EV's state of charge"),
        ],
        events: [
            EventDescriptor(name: "status", severity: .info, summary: "A connector's status changed (and every connector's at start and after power restore or reset); readings connector, status, error_code"),
        ] + ChargePointErrorCode.faultStimuli.map {
            EventDescriptor(name: $0.stimulus, severity: .alarm, summary: $0.summary + "; the connector is Faulted and a running session stops (Other); readings connector, error_code")
        } + [
            EventDescriptor(name: "fault-clear", severity: .info, summary: "A connector's fault cleared; reading connector"),
            EventDescriptor(name: "authorize", severity: .info, summary: "A card was swiped: may it charge? The platform answers with the authorized command; readings connector, id_tag"),
            EventDescriptor(name: "session-start", severity: .info, summary: "A session (transaction) started; readings connector, session, id_tag, meter_start_wh"),
            EventDescriptor(name: "meter", severity: .info, summary: "Meter values at session start, every meter_interval and at stop; readings connector, session, energy_wh, session_wh, power_w, current_a, voltage_v, soc"),
            EventDescriptor(name: "session-stop", severity: .info, summary: "A session stopped; readings connector, session, id_tag, meter_stop_wh, session_wh, reason (OCPP 1.6 Reason)"),
            EventDescriptor(name: "offline", severity: .warning, summary: "Status: the station lost power (reason power-loss); silent until power-restore"),
            EventDescriptor(name: "online", severity: .info, summary: "Status: power is back; sessions cut by the loss are then reported stopped (PowerLoss)"),
        ],
        commands: [
            CommandDescriptor(name: "remote-start", arguments: [
                ArgumentDescriptor(name: "id_tag", type: .string, summary: "The card or user the session is for"),
                ArgumentDescriptor(name: "connector", type: .int, required: false, summary: "Connector (default the first Available or Preparing one)"),
                ArgumentDescriptor(name: "limit_w", type: .double, required: false, summary: "A power limit for this session only (the request's TxProfile), W"),
            ], summary: "RemoteStartTransaction: charge now if an EV is plugged, else wait connection_timeout for one"),
            CommandDescriptor(name: "remote-stop", arguments: [
                ArgumentDescriptor(name: "session", type: .int, required: false, summary: "The session number (from session-start)"),
                ArgumentDescriptor(name: "connector", type: .int, required: false, summary: "Or the connector whose session to stop"),
            ], summary: "RemoteStopTransaction: stop a session (reason Remote)"),
            CommandDescriptor(name: "authorized", arguments: [
                ArgumentDescriptor(name: "connector", type: .int, summary: "The connector the card was swiped at"),
                ArgumentDescriptor(name: "id_tag", type: .string, summary: "The swiped card"),
                ArgumentDescriptor(name: "accepted", type: .bool, summary: "Whether the card may charge"),
            ], summary: "The platform's answer to authorize: accepted starts the session (or waits for a plug); refused changes nothing"),
            CommandDescriptor(name: "set-charging-limit", arguments: [
                ArgumentDescriptor(name: "connector", type: .int, summary: "Connector, or 0 for the station (shared equally among connectors)"),
                ArgumentDescriptor(name: "limit_w", type: .double, summary: "Limit in W; 0 suspends charging (SuspendedEVSE)"),
            ], summary: "SetChargingProfile, reduced to a constant power limit"),
            CommandDescriptor(name: "clear-charging-limit", arguments: [
                ArgumentDescriptor(name: "connector", type: .int, summary: "Connector, or 0 for the station limit"),
            ], summary: "ClearChargingProfile: lift the limit"),
            CommandDescriptor(name: "set-meter-interval", arguments: [
                ArgumentDescriptor(name: "seconds", type: .double, summary: "The new interval, 1–86400 s"),
            ], summary: "MeterValueSampleInterval changed (ChangeConfiguration): running sessions sample one new interval from now"),
            CommandDescriptor(name: "change-availability", arguments: [
                ArgumentDescriptor(name: "connector", type: .int, summary: "Connector, or 0 for the whole station"),
                ArgumentDescriptor(name: "operative", type: .bool, summary: "false makes it Unavailable, true Available again"),
            ], summary: "ChangeAvailability; result status Accepted, Scheduled (a session runs: applied when it ends) or Rejected"),
            CommandDescriptor(name: "unlock-connector", arguments: [
                ArgumentDescriptor(name: "connector", type: .int, summary: "Connector"),
            ], summary: "UnlockConnector: ends a running session (Other); result status Unlocked, or UnlockFailed while the lock has failed"),
            CommandDescriptor(name: "reset", arguments: [
                ArgumentDescriptor(name: "type", type: .string, summary: "Hard or Soft"),
            ], summary: "Reset: running sessions stop (HardReset / SoftReset) and every status is sent again"),
        ],
        stimuli: [
            StimulusDescriptor(name: "plug-in", arguments: [
                connectorArgument,
                ArgumentDescriptor(name: "battery_kwh", type: .double, required: false, summary: "The EV's battery (default ev_battery_kwh)"),
                ArgumentDescriptor(name: "soc", type: .double, required: false, summary: "Its state of charge in % (default drawn from ev_arrival_soc)"),
            ], summary: "A driver plugs an EV in"),
            StimulusDescriptor(name: "unplug", arguments: [connectorArgument], summary: "The cable is pulled; a running session stops (EVDisconnected)"),
            StimulusDescriptor(name: "swipe", arguments: [
                connectorArgument,
                ArgumentDescriptor(name: "id_tag", type: .string, summary: "The card"),
            ], summary: "A card is swiped: asks the platform (authorize), or stops the session it started (Local)"),
        ] + ChargePointErrorCode.faultStimuli.map {
            StimulusDescriptor(name: $0.stimulus, arguments: [connectorArgument], summary: $0.summary)
        } + [
            StimulusDescriptor(name: "fault-clear", arguments: [connectorArgument], summary: "The connector's fault goes away"),
            StimulusDescriptor(name: "ev-not-responding", arguments: [connectorArgument], summary: "The EV stops drawing current (SuspendedEV) until unplugged"),
            StimulusDescriptor(name: "power-loss", summary: "The station loses mains power: offline, running sessions cut"),
            StimulusDescriptor(name: "power-restore", summary: "Power comes back: online, cut sessions reported stopped (PowerLoss), statuses sent"),
        ],
        parameters: [
            ParameterDescriptor(name: "connectors", type: .int, defaultValue: "1", minimum: 1, maximum: Double(maxConnectors), summary: "Number of connectors (charging outlets)"),
            ParameterDescriptor(name: "max_power_kw", type: .double, defaultValue: "7.4", minimum: 0.1, maximum: 500, unit: "kW", summary: "Maximum charging power per connector"),
            ParameterDescriptor(name: "phases", type: .int, defaultValue: "1", minimum: 1, maximum: 3, summary: "1 or 3 AC phases (DC chargers: 3, their supply)"),
            ParameterDescriptor(name: "dc", type: .bool, defaultValue: "false", summary: "A DC fast charger: current is power / voltage_v"),
            ParameterDescriptor(name: "voltage_v", type: .double, defaultValue: "230", minimum: 1, maximum: 1500, unit: "V", summary: "AC: phase voltage; DC: the EV battery voltage (typically 400)"),
            ParameterDescriptor(name: "meter_interval", type: .duration, defaultValue: "60s", minimum: 1, summary: "Time between sampled meter values while a session runs (MeterValueSampleInterval)"),
            // Not CommonDescriptors.startSpread: a charger has no heartbeat of its own (the OCPP
            // binding keeps it), so what is spread is the boot, and by default nothing is.
            ParameterDescriptor(name: "start_spread", type: .duration, defaultValue: "0s", summary: "The station boots (first status notifications) at a random moment within this span, so a car park of chargers does not boot in lock step; 0s boots every charger at once"),
            ParameterDescriptor(name: "ev_battery_kwh", type: .double, defaultValue: "60", minimum: 1, maximum: 300, unit: "kWh", summary: "Battery of an EV plugged in without battery_kwh"),
            ParameterDescriptor(name: "ev_arrival_soc", type: .string, defaultValue: "10-60", summary: "Range in % (e.g. 10-60, or one value) an arriving EV's state of charge is drawn from"),
            ParameterDescriptor(name: "taper_soc", type: .double, defaultValue: "80", minimum: 0, maximum: 100, unit: "%", summary: "State of charge above which power tapers linearly to 10 % of maximum at 100 %"),
            ParameterDescriptor(name: "connection_timeout", type: .duration, defaultValue: "60s", minimum: 1, summary: "How long an authorised start waits for the EV to be plugged in (ConnectionTimeOut)"),
        ])
}
