import ParkCore
import ParkMQTT
import ParkProfiles

/// One secret per device, illegal access rejected (004 L754): for each selected device the
/// harness logs in as it three times — with a wrong secret, with another device's secret, and
/// with its own (under a separate client id, so the real device is not thrown off) — and the
/// broker must refuse the first two and accept the third (or the check proves nothing).
///
/// Needs the devices' secrets (`parkbench test --secrets-file`; `parkbench demo` makes them).
///
/// ```yaml
/// type: auth
/// devices: {kind: smoke-detector, count: 2}
/// expect: ["wrong_secret_accepted == 0", "other_secret_accepted == 0", "own_secret_refused == 0"]
/// ```
public struct AuthCheck: ConformanceCheck {
    public static let type = "auth"
    public static let settingKeys = ["devices"]
    public static let metrics: [String: MeasuredUnit] = [
        "wrong_secret_accepted": .count, "other_secret_accepted": .count, "own_secret_refused": .count,
        "attempts": .count, "unanswered": .count,
    ]

    public let common: CheckCommon
    public let devices: DeviceSelector

    package init?(common: CheckCommon, settings: inout MappingReader) {
        self.common = common
        guard let devices = DeviceSelector.parse(&settings, key: "devices", required: true) else { return nil }
        self.devices = devices
    }

    public func run(in context: HarnessContext) async -> CheckMeasurement {
        guard let secrets = context.secrets else {
            return CheckMeasurement(error: "the run has no device secrets to test with; give them with --secrets-file")
        }
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        let everyone = context.devices.map(\.id)
        var measurement = CheckMeasurement()
        var wrongAccepted = 0, otherAccepted = 0, ownRefused = 0, attempts = 0, unanswered = 0
        let broker = context.profile.broker
        for device in chosen {
            guard let own = secrets.secret(for: device.id) else {
                return CheckMeasurement(error: "\(secrets.source) has no secret for \(device.id)")
            }
            let other = everyone.lazy.filter { $0 != device.id }.compactMap { secrets.secret(for: $0) }.first { $0 != own }
            var tries: [(String, String)] = [("wrong", "wrong-" + String(own.reversed()))]
            if let other { tries.append(("other", other)) }
            tries.append(("own", own))
            for (label, secret) in tries {
                attempts += 1
                // Never the device's own client id: that would take its session over.
                let outcome = await MQTTAuthProbe.attempt(
                    host: broker.host, port: broker.port, clientID: "\(device.id)-authprobe-\(label)",
                    credentials: MQTTCredentials(username: device.id, password: secret))
                switch (label, outcome) {
                case (_, .unreachable(let reason)):
                    unanswered += 1
                    measurement.findings.append("\(device.id), \(label) secret: \(outcome) — \(reason)")
                case ("wrong", .accepted):
                    wrongAccepted += 1
                    measurement.findings.append("\(device.id): the broker accepted a wrong secret")
                case ("other", .accepted):
                    otherAccepted += 1
                    measurement.findings.append("\(device.id): the broker accepted another device's secret")
                case ("own", .refused(let reason)):
                    ownRefused += 1
                    measurement.findings.append("\(device.id): the broker refused the device's own secret (\(reason))")
                default:
                    break
                }
            }
        }
        measurement.metrics = [
            "wrong_secret_accepted": .count(wrongAccepted), "other_secret_accepted": .count(otherAccepted),
            "own_secret_refused": .count(ownRefused), "attempts": .count(attempts), "unanswered": .count(unanswered),
        ]
        return measurement
    }
}
