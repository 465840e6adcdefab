import ParkCore

/// The smart electricity meter (智能电表) of remote meter reading (远程抄表), read over RS-485
/// (Modbus RTU/TCP through a gateway, or DL/T 645) and polled rather than pushing.
///
/// From seed 004: forward and reverse active energy on two independent circuits (L3484–3486),
/// prepayment with recharge and a low-balance alarm (L3480), relay open/close (拉合闸), time
/// synchronisation and their event records (L3495–3497). Per-phase voltage, current, power, power
/// factor and frequency are what every three-phase meter's register map carries. Its values are
/// readable at any instant (``PolledState``): energy is integrated to the microsecond of the poll.
public struct ElectricMeterKind: DeviceKind {
    public static let name = "electric-meter"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        try ElectricMeter(setup: setup)
    }

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Smart electricity meter (RS-485, polled): per-phase V/I/P/PF, forward/reverse energy on two circuits, prepaid balance, relay",
        sources: [
            "004_5e9061d643d5fb41.txt L3478-3497",
            "004_5e9061d643d5fb41.txt L723",
        ],
        points: ["a", "b", "c"].flatMap { phase in
            [
                PointDescriptor(name: "voltage_\(phase)", type: .double, unit: "V", summary: "Phase \(phase.uppercased()) voltage (0 on phases a single-phase meter lacks)"),
                PointDescriptor(name: "current_\(phase)", type: .double, unit: "A", summary: "Phase \(phase.uppercased()) current of circuit 1"),
            ]
        } + [
            PointDescriptor(name: "active_power", type: .double, unit: "kW", summary: "Active power of circuit 1 (≈ Σ V·I·PF)"),
            PointDescriptor(name: "reactive_power", type: .double, unit: "kvar", summary: "Reactive power of circuit 1"),
            PointDescriptor(name: "power_factor", type: .double, summary: "Power factor of circuit 1"),
            PointDescriptor(name: "frequency", type: .double, unit: "Hz", summary: "Grid frequency"),
            PointDescriptor(name: "active_power_2", type: .double, unit: "kW", summary: "Active power of circuit 2; negative while it exports (PV)"),
            PointDescriptor(name: "energy_import_1", type: .double, unit: "kWh", summary: "Forward active energy, circuit 1 (L3484)"),
            PointDescriptor(name: "energy_export_1", type: .double, unit: "kWh", summary: "Reverse active energy, circuit 1"),
            PointDescriptor(name: "energy_import_2", type: .double, unit: "kWh", summary: "Forward active energy, circuit 2"),
            PointDescriptor(name: "energy_export_2", type: .double, unit: "kWh", summary: "Reverse active energy, circuit 2 (what a PV circuit feeds back)"),
        ] + zip(TariffSchedule.names, ["尖", "峰", "平", "谷"]).enumerated().map { index, tariff in
            PointDescriptor(name: "energy_import_1_\(tariff.0)", type: .double, unit: "kWh",
                            summary: "Forward active energy of circuit 1 under tariff \(index + 1) (\(tariff.1), \(tariff.0)); 0 without a tariff_schedule (L3482)")
        } + [
            PointDescriptor(name: "balance", type: .double, unit: "CNY", summary: "Prepaid balance, drawn down by imported energy × its tariff's price (L3480)"),
            PointDescriptor(name: "relay", type: .bool, summary: "Relay closed (supply on); 拉闸 opens it"),
        ],
        events: [
            EventDescriptor(name: "relay-open", severity: .warning, summary: "Supply disconnected (拉闸): by command or because the balance ran out; `reason` says which"),
            EventDescriptor(name: "relay-close", severity: .info, summary: "Supply reconnected (合闸)"),
            EventDescriptor(name: "low-balance", severity: .warning, summary: "Balance fell below low_balance_threshold (prepayment alarm, L3480)"),
            EventDescriptor(name: "balance-exhausted", severity: .alarm, summary: "Balance reached zero; the relay opens"),
            EventDescriptor(name: "recharged", severity: .info, summary: "Prepaid balance topped up"),
            EventDescriptor(name: "time-synced", severity: .info, summary: "Clock set by the platform (校时 event record, L3495–3497)"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive"),
            EventDescriptor(name: "month-settled", severity: .info, summary: "月结算 at 00:00 on the 1st: the month (YYYY-MM) and the four energy registers frozen then; the last 12 are kept (L3484–3488)"),
        ],
        commands: [
            CommandDescriptor(name: "read", summary: "Answer with every reading now (下发获取读数的指令, L723)"),
            CommandDescriptor(name: "relay-open", summary: "Disconnect the supply (拉闸)"),
            CommandDescriptor(name: "relay-close", summary: "Reconnect the supply (合闸); refused while the balance is not above zero"),
            CommandDescriptor(
                name: "recharge",
                arguments: [ArgumentDescriptor(name: "amount", type: .double, summary: "Amount in CNY, > 0")],
                summary: "Top up the prepaid balance (充值, L3480)"),
            CommandDescriptor(name: "sync-time", summary: "Set the meter's clock (recorded as a time-synced event)"),
        ],
        stimuli: [
            StimulusDescriptor(
                name: "load-set",
                arguments: [ArgumentDescriptor(name: "kw", type: .double, summary: "Circuit 1 load in kW")],
                summary: "Hold circuit 1's load at a value (until load-release)"),
            StimulusDescriptor(name: "load-release", summary: "Let the load wander again"),
            StimulusDescriptor(
                name: "voltage-set",
                arguments: [ArgumentDescriptor(name: "volts", type: .double, summary: "Phase voltage in V")],
                summary: "A sag or swell: every phase at this voltage"),
        ],
        parameters: [
            ParameterDescriptor(name: "phases", type: .int, defaultValue: "3", minimum: 1, maximum: 3, summary: "1 or 3"),
            ParameterDescriptor(name: "nominal_voltage", type: .double, defaultValue: "220", minimum: 50, maximum: 1000, unit: "V", summary: "Phase voltage"),
            ParameterDescriptor(name: "voltage_sigma", type: .double, defaultValue: "2", minimum: 0, maximum: 50, unit: "V", summary: "Voltage wander around nominal at each load change"),
            ParameterDescriptor(name: "frequency", type: .double, defaultValue: "50", minimum: 40, maximum: 70, unit: "Hz", summary: "Grid frequency"),
            ParameterDescriptor(name: "base_load", type: .double, defaultValue: "2", minimum: 0, maximum: 10_000, unit: "kW", summary: "Lowest load of circuit 1"),
            ParameterDescriptor(name: "peak_load", type: .double, defaultValue: "12", minimum: 0, maximum: 10_000, unit: "kW", summary: "Highest load of circuit 1"),
            ParameterDescriptor(name: "power_factor", type: .double, defaultValue: "0.92", minimum: 0.1, maximum: 1, summary: "Power factor of the load"),
            ParameterDescriptor(name: "circuit2_load", type: .double, defaultValue: "0", minimum: -10_000, maximum: 10_000, unit: "kW", summary: "Circuit 2's typical power; negative for an exporting (PV) circuit"),
            ParameterDescriptor(name: "load_interval", type: .duration, defaultValue: "15s", minimum: 0.1, maximum: 86_400, summary: "How often the load changes (power is constant between changes, energy integrates exactly)"),
            ParameterDescriptor(name: "accuracy", type: .double, defaultValue: "0.5", minimum: 0, maximum: 20, unit: "%", summary: "Accuracy class: each quantity reads within ± half of this of the truth, a fixed error per meter"),
            ParameterDescriptor(name: "initial_energy", type: .double, defaultValue: "1000", minimum: 0, maximum: 1e9, unit: "kWh", summary: "Circuit 1 forward energy at the start"),
            ParameterDescriptor(name: "balance", type: .double, defaultValue: "500", minimum: -1e9, maximum: 1e9, unit: "CNY", summary: "Prepaid balance at the start"),
            ParameterDescriptor(name: "tariff", type: .double, defaultValue: "0.6", minimum: 0, maximum: 100, unit: "CNY/kWh", summary: "Price of imported energy; 0 turns prepayment off"),
            ParameterDescriptor(name: "low_balance_threshold", type: .double, defaultValue: "20", minimum: 0, maximum: 1e9, unit: "CNY", summary: "Below this the meter raises low-balance"),
            ParameterDescriptor(name: "heartbeat_interval", type: .duration, defaultValue: "1h", minimum: 1, maximum: 864_000, summary: "Heartbeat period"),
            ParameterDescriptor(name: "tariff_schedule", type: .string, defaultValue: "",
                                summary: "Time-of-use tariffs (分时计费, L3482) on the meter's clock: when each period starts and its tariff (sharp, peak, flat, valley), e.g. \"00:00=valley, 08:00=peak, 11:00=flat, 18:00=peak, 23:00=valley\"; empty: one rate"),
            ParameterDescriptor(name: "tariff_prices", type: .string, defaultValue: "",
                                summary: "Price of each time-of-use tariff in CNY/kWh, e.g. \"peak=0.95, flat=0.6, valley=0.35\"; a tariff left out costs `tariff`"),
            ParameterDescriptor(name: "clock_start", type: .string, defaultValue: "2026-01-01T00:00:00+08:00", summary: "The meter clock at start (local time with its offset); hourly, daily and monthly freezes fall on this clock's boundaries"),
        ])
}
