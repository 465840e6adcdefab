import ParkCore
import ParkProfiles
import ParkReport

/// A charging session started and stopped through the platform is billed with the energy the
/// charger delivered (004 L2297: charging monitoring, real-time cost and billing): the harness
/// plugs an EV into each chosen charger, asks the platform for a remote start, lets it charge
/// for `duration`, asks for a remote stop, and compares the energy the platform shows for the
/// session (`session_wh` in its telemetry) with what the charger's ledger says it delivered.
///
/// `energy_error` is the largest difference in Wh (and as a percentage of the true energy). A
/// charger reports whole Wh at start and stop (OCPP 1.6 meterStart/meterStop), so a platform that
/// bills exactly is within 1 Wh.
///
/// ```yaml
/// type: charging-session
/// devices: {kind: ev-charger}
/// id_tag: PARK-0002
/// duration: 3s
/// expect: ["energy_error <= 1", "missing == 0"]
/// ```
public struct ChargingSessionCheck: ConformanceCheck {
    public static let type = "charging-session"
    public static let settingKeys = ["devices", "id_tag", "duration"]
    public static let metrics: [String: MeasuredUnit] = [
        "energy_error": MeasuredUnit(.number, alsoAsPercent: true), "sessions": .count, "missing": .count, "refused_requests": .count,
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector
    public let idTag: String
    public let duration: DeviceDuration

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        let devices = DeviceSelector.parse(&settings, key: "devices", required: true)
        idTag = settings.string("id_tag") ?? "PARKBENCH"
        duration = settings.duration("duration") ?? .seconds(3)
        guard let devices else { return nil }
        self.devices = devices
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        guard let endpoint = context.profile.commands else {
            return CheckMeasurement(error: "the platform profile has no `commands` endpoint to ask the platform for a remote start")
        }
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        var measurement = CheckMeasurement()
        var refused = 0
        let connector = ["connector": "1"]
        let mark = context.truth.mark
        let since = context.wallNow()
        var started: [ParkFile.ParkDevice] = []
        for device in chosen {
            if case .failure(let failure) = await context.perform(DeviceAction(.stimulus, "plug-in", arguments: connector), on: device) {
                return CheckMeasurement(error: failure.description)
            }
            if let problem = await context.askPlatform(DeviceAction(.command, "remote-start", arguments: connector.merging(["id_tag": idTag]) { $1 }),
                                                       device: device.id, through: endpoint) {
                refused += 1
                measurement.findings.append("\(device.id): the platform refused the remote start: \(problem)")
                continue
            }
            started.append(device)
        }
        await context.run(for: duration)
        for device in started {
            if let problem = await context.askPlatform(DeviceAction(.command, "remote-stop", arguments: connector), device: device.id, through: endpoint) {
                refused += 1
                measurement.findings.append("\(device.id): the platform refused the remote stop: \(problem)")
            }
        }
        // The charger's own account of each session, and the platform's bill for it.
        func delivered(_ device: ParkFile.ParkDevice) -> Double? {
            context.truth.records(from: mark) { $0.entry == .emission && $0.deviceID == device.id && $0.name == "session-stop" }
                .last?.readings.first { $0.point == "session_wh" }?.value.doubleValue
        }
        func billed(_ device: ParkFile.ParkDevice) -> Double? {
            context.observations.observations(.telemetry, since: since).last { $0.device == device.id && $0.values["session_wh"] != nil }?.values["session_wh"]
        }
        _ = await context.waitUntil(timeout: common.timeout) { started.allSatisfy { delivered($0) != nil && billed($0) != nil } }
        var worst: (error: Double, percent: Double)?
        var sessions = 0, missing = chosen.count - started.count
        for device in started {
            guard let truth = delivered(device) else {
                missing += 1
                measurement.findings.append("\(device.id): the remote start and stop made no session at the charger within \(common.timeout)")
                continue
            }
            guard let shown = billed(device) else {
                missing += 1
                measurement.findings.append(String(format: "%@: the charger delivered %.1f Wh; the platform showed no session energy within %@", device.id, truth, "\(common.timeout)"))
                continue
            }
            sessions += 1
            let error = abs(shown - truth), percent = truth > 0 ? error / truth * 100 : 0
            if error > 1 { measurement.findings.append(String(format: "%@: the platform billed %.1f Wh, the charger delivered %.1f Wh", device.id, shown, truth)) }
            if error > (worst?.error ?? -1) { worst = (error, percent) }
        }
        for device in chosen { _ = await context.perform(DeviceAction(.stimulus, "unplug", arguments: connector), on: device) }
        if let worst { measurement.set("energy_error", .number(worst.error, percent: worst.percent)) }
        measurement.set("sessions", .count(sessions))
        measurement.set("missing", .count(missing))
        measurement.set("refused_requests", .count(refused))
        return measurement
    }
}
