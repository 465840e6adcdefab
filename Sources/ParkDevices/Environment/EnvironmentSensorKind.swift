import ParkCore

/// The air-quality and noise monitor of the smart-park environmental monitoring system
/// (环境监测), from an outdoor HJ 212 station down to a cheap indoor sensor.
///
/// Behaviour from seed 004: stations measure temperature, humidity, PM2.5, PM10 and CO in real
/// time (L3879, L3896); the garbage-room sensor adds CO2 (L1773–1775) and the district dashboard
/// adds noise (L5247–5249); alarm values are settable per quantity (L1781, L3906) and from the
/// platform (遥调指令, L3918); stations zero themselves automatically (自动校零, L3904); data goes
/// out under HJ 212 (L3908) with an accuracy of ≤ ±10 % / ≤ ±2 % (L3910); sensor faults and
/// over-limit values are alarms the platform must show (L3934–3936).
///
/// The kind separates what the air holds (the truth, from generators and the `pollution`
/// stimulus) from what the instrument reports (the truth through a per-point gain error, a
/// drift that `calibrate` removes, and Gaussian noise), so an accuracy check has something to
/// catch. Every telemetry reading carries both. Which quantity gets ±10 % and which ±2 % is not
/// stated (see the 004 digest, ambiguity 3); profiles set each point's error separately.
public struct EnvironmentSensorKind: DeviceKind {
    public static let name = "environment-sensor"

    public init() {}

    public var descriptor: KindDescriptor { Self.kindDescriptor }

    public func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior {
        try EnvironmentSensor(setup: setup)
    }

    /// Timer tags used by ``EnvironmentSensor``; the low byte names the timer, the bits above it
    /// carry the power generation, so timers left over from before a power cut do nothing.
    enum Timer: UInt32 {
        case heartbeat = 1, report, autoZero
    }

    /// The quantities the kind can measure, in the order telemetry lists them.
    enum Point: Int, CaseIterable {
        case temperature, humidity, pm25, pm10, co2, co, noise

        var name: String {
            switch self {
            case .temperature: "temperature"
            case .humidity: "humidity"
            case .pm25: "pm25"
            case .pm10: "pm10"
            case .co2: "co2"
            case .co: "co"
            case .noise: "noise"
            }
        }

        init?(name: String) {
            guard let point = Self.allCases.first(where: { $0.name == name }) else { return nil }
            self = point
        }

        var unit: String {
            switch self {
            case .temperature: "°C"
            case .humidity: "%RH"
            case .pm25, .pm10: "µg/m³"
            case .co2: "ppm"
            case .co: "mg/m³"
            case .noise: "dB(A)"
            }
        }

        var summary: String {
            switch self {
            case .temperature: "Air temperature (004 L3896)"
            case .humidity: "Relative humidity (004 L3896)"
            case .pm25: "PM2.5 mass concentration (004 L3896)"
            case .pm10: "PM10 mass concentration, never below PM2.5 (004 L3896)"
            case .co2: "Carbon dioxide (004 L1773, L540)"
            case .co: "Carbon monoxide (004 L3896)"
            case .noise: "Equivalent A-weighted sound level (噪音, 004 L5247-5249)"
            }
        }

        /// Default alarm limits from the national standards a Chinese platform would use:
        /// GB 3095-2012 grade II (PM2.5 75, PM10 150 µg/m³ daily; CO 10 mg/m³ hourly),
        /// GB/T 18883 indoor CO2 0.10 %, GB 3096-2008 class 4a daytime noise 70 dB(A).
        /// Temperature and humidity have no standard limit; the defaults flag only extremes.
        var defaultLimit: String {
            switch self {
            case .temperature: "40"
            case .humidity: "95"
            case .pm25: "75"
            case .pm10: "150"
            case .co2: "1000"
            case .co: "10"
            case .noise: "70"
            }
        }

        var limitRange: ClosedRange<Double> {
            switch self {
            case .temperature: -40...80
            case .humidity: 1...100
            case .pm25: 1...1_000
            case .pm10: 1...2_000
            case .co2: 300...10_000
            case .co: 0.1...100
            case .noise: 30...130
            }
        }

        var maximumSigma: Double {
            switch self {
            case .temperature, .noise: 10
            case .humidity: 20
            case .pm25, .pm10: 200
            case .co2: 500
            case .co: 10
            }
        }

        /// Values an instrument cannot report whatever its error: no negative concentration,
        /// no humidity above saturation.
        var physicalRange: ClosedRange<Double> {
            switch self {
            case .temperature: -273.15...Double.greatestFiniteMagnitude
            case .humidity: 0...100
            default: 0...Double.greatestFiniteMagnitude
            }
        }
    }

    static let allPointNames = Point.allCases.map(\.name).joined(separator: ",")

    private static func pointParameters(_ point: Point) -> [ParameterDescriptor] {
        [
            ParameterDescriptor(
                name: "\(point.name)_bias", type: .double, defaultValue: "0", minimum: -0.5, maximum: 0.5,
                summary: "Gain error of the \(point.name) sensor as a fraction: 0.05 reads 5 % high"),
            ParameterDescriptor(
                name: "\(point.name)_sigma", type: .double, defaultValue: "0", minimum: 0, maximum: point.maximumSigma,
                unit: point.unit, summary: "Standard deviation of the \(point.name) sensor's random error"),
            ParameterDescriptor(
                name: "\(point.name)_limit", type: .double, defaultValue: point.defaultLimit,
                minimum: point.limitRange.lowerBound, maximum: point.limitRange.upperBound, unit: point.unit,
                summary: "Alarm value: a measured \(point.name) above it raises over-limit (004 L3906)"),
        ]
    }

    private static let pointArgument = ArgumentDescriptor(
        name: "point", type: .string, summary: "One of " + allPointNames.split(separator: ",").joined(separator: ", "))

    static let kindDescriptor = KindDescriptor(
        name: name,
        summary: "Air-quality and noise monitor (HJ 212 station or indoor sensor): seven points with modelled sensor error, over-limit alarms with hysteresis, drift and auto-zero, pollution episodes",
        sources: [
            "004_5e9061d643d5fb41.txt L1773-1781",
            "004_5e9061d643d5fb41.txt L3896-3910",
            "004_5e9061d643d5fb41.txt L3934-3936",
            "004_5e9061d643d5fb41.txt L5247-5249",
        ],
        points: Point.allCases.map { PointDescriptor(name: $0.name, type: .double, unit: $0.unit, summary: $0.summary) }
            + [PointDescriptor(name: "status", type: .string, summary: "In the heartbeat: over-limit, fault or normal, the first that applies")],
        events: [
            EventDescriptor(name: "over-limit", severity: .alarm, summary: "A measured value went above its limit (超标, 004 L3936); readings point, value (with truth), limit"),
            EventDescriptor(name: "limit-ok", severity: .info, summary: "The value fell back below its limit by the hysteresis margin; readings point, value, limit"),
            EventDescriptor(name: "fault", severity: .warning, summary: "A sensor failed (传感器故障, 004 L3936); its point leaves telemetry until fault-clear"),
            EventDescriptor(name: "fault-clear", severity: .info, summary: "The sensor works again"),
            EventDescriptor(name: "calibrated", severity: .info, summary: "Drift was zeroed, by command or by auto-zero (004 L3904); readings source and <point>_drift removed"),
            EventDescriptor(name: "heartbeat", severity: .info, summary: "Periodic keep-alive with status"),
        ],
        commands: [
            CommandDescriptor(
                name: "calibrate",
                arguments: [ArgumentDescriptor(name: "point", type: .string, required: false, summary: "Only this point (default: all)")],
                summary: "Zero the sensors' drift (not their factory bias); answers with the drift removed per point"),
            CommandDescriptor(
                name: "set-limit",
                arguments: [pointArgument, ArgumentDescriptor(name: "limit", type: .double, summary: "New alarm value in the point's unit")],
                summary: "Change a point's alarm value (004 L3906, 遥调 L3918); takes effect at the next sample"),
            CommandDescriptor(name: "read", summary: "Sample now and answer with every working point (value and truth); sends no telemetry"),
        ],
        stimuli: [
            StimulusDescriptor(
                name: "pollution",
                arguments: [
                    ArgumentDescriptor(name: "pm25", type: .double, required: false, summary: "PM2.5 added at the peak in µg/m³ (default 150)"),
                    ArgumentDescriptor(name: "pm10", type: .double, required: false, summary: "PM10 added at the peak in µg/m³, at least pm25 (default 1.5 × pm25)"),
                    ArgumentDescriptor(name: "co", type: .double, required: false, summary: "CO added at the peak in mg/m³ (default 0)"),
                    ArgumentDescriptor(name: "duration", type: .duration, required: false, summary: "How long the peak holds before it decays with pollution_decay (default 30m)"),
                ],
                summary: "A pollution episode (dust, smoke, traffic) reaches the sensor; overlapping episodes add up"),
            StimulusDescriptor(
                name: "drift",
                arguments: [
                    pointArgument,
                    ArgumentDescriptor(name: "fraction", type: .double, summary: "Gain drift as a fraction, added to the bias: 0.2 reads 20 % high"),
                    ArgumentDescriptor(name: "over", type: .duration, required: false, summary: "Reach the drift gradually over this span (default 0s: at once)"),
                ],
                summary: "A sensor drifts (ageing, contamination) until calibrated"),
            StimulusDescriptor(
                name: "fault",
                arguments: [
                    pointArgument,
                    ArgumentDescriptor(name: "code", type: .string, required: false, summary: "Fault code (default sensor)"),
                ],
                summary: "A sensor fails"),
            StimulusDescriptor(
                name: "fault-clear",
                arguments: [ArgumentDescriptor(name: "point", type: .string, required: false, summary: "Only this point (default: all)")],
                summary: "The failed sensor is repaired"),
            StimulusDescriptor(name: "power-off", summary: "Mains power is lost: the device goes silent and refuses commands; its state is kept"),
            StimulusDescriptor(name: "power-on", summary: "Power returns: timers restart at a fresh random phase"),
        ],
        parameters: [
            ParameterDescriptor(name: "points", type: .string, defaultValue: allPointNames, summary: "Comma-separated points this model measures; the rest are left out of telemetry"),
            CommonDescriptors.heartbeatInterval(default: "1h"),
            ParameterDescriptor(name: "report_interval", type: .duration, defaultValue: "1m", minimum: 0.001, summary: "Time between samples: each sends telemetry and checks the limits"),
            CommonDescriptors.startSpread(.eachTimer),
            ParameterDescriptor(name: "auto_zero_interval", type: .duration, defaultValue: "0s", summary: "Time between automatic zeroings of drift (自动校零, 004 L3904); 0s never"),
            ParameterDescriptor(name: "limit_hysteresis", type: .double, defaultValue: "0.05", minimum: 0, maximum: 0.5, summary: "An over-limit clears only once the value is this fraction of the limit below it, so a value hovering at the limit does not flap"),
            ParameterDescriptor(name: "start_hour", type: .double, defaultValue: "0", minimum: 0, maximum: 24, unit: "h", summary: "Hour of day at device time zero, for the daily curves"),
            ParameterDescriptor(name: "temperature_mean", type: .double, defaultValue: "20", minimum: -30, maximum: 50, unit: "°C", summary: "Daily mean air temperature"),
            ParameterDescriptor(name: "temperature_swing", type: .double, defaultValue: "4", minimum: 0, maximum: 20, unit: "°C", summary: "Half the day-night range; the warmest hour is 14:00"),
            ParameterDescriptor(name: "humidity_mean", type: .double, defaultValue: "55", minimum: 5, maximum: 95, unit: "%RH", summary: "Centre of the humidity random walk (±20 %RH)"),
            ParameterDescriptor(name: "pm25_background", type: .double, defaultValue: "35", minimum: 1, maximum: 500, unit: "µg/m³", summary: "Centre of the PM2.5 random walk (±60 %)"),
            ParameterDescriptor(name: "pm10_ratio", type: .double, defaultValue: "1.6", minimum: 1, maximum: 5, summary: "Typical PM10 / PM2.5 ratio of the background (wanders ±0.4, never below 1)"),
            ParameterDescriptor(name: "co2_base", type: .double, defaultValue: "420", minimum: 300, maximum: 5_000, unit: "ppm", summary: "CO2 at night"),
            ParameterDescriptor(name: "co2_peak", type: .double, defaultValue: "600", minimum: 300, maximum: 5_000, unit: "ppm", summary: "CO2 in the busiest hours (09:00-17:00)"),
            ParameterDescriptor(name: "co_background", type: .double, defaultValue: "0.8", minimum: 0.05, maximum: 50, unit: "mg/m³", summary: "Centre of the CO random walk (±60 %)"),
            ParameterDescriptor(name: "noise_night", type: .double, defaultValue: "45", minimum: 20, maximum: 120, unit: "dB(A)", summary: "Sound level at night (22:00-06:00, GB 3096)"),
            ParameterDescriptor(name: "noise_day", type: .double, defaultValue: "60", minimum: 20, maximum: 120, unit: "dB(A)", summary: "Sound level at the daytime rush hours"),
            ParameterDescriptor(name: "pollution_decay", type: .duration, defaultValue: "15m", minimum: 0.001, summary: "Time constant with which a pollution episode fades after its peak"),
        ] + Point.allCases.flatMap(pointParameters))
}
