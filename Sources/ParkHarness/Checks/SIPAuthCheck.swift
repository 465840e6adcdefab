import ParkCore
import ParkGB28181
import ParkProfiles

/// One password per device on the video platform too (004 L754): for each selected camera or
/// NVR the harness registers as it to the platform's SIP server three times — with a wrong
/// password, with another device's, and with its own — from a socket of its own; the platform
/// must refuse the first two (403 after the digest challenge) and accept the third. The real
/// device then registers again, so the park is as it was.
///
/// Needs the devices' secrets (their SIP passwords) and the profile's `video:` section.
///
/// ```yaml
/// type: sip-auth
/// devices: {kind: camera, count: 1}
/// expect: ["wrong_password_accepted == 0", "other_password_accepted == 0", "own_password_refused == 0"]
/// ```
public struct SIPAuthCheck: ConformanceCheck {
    public static let type = "sip-auth"
    public static let settingKeys = ["devices"]
    public static let metrics: [String: MeasuredUnit] = [
        "wrong_password_accepted": .count, "other_password_accepted": .count, "own_password_refused": .count,
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
        guard let video = context.profile.video, let platform = SIPAddress(hostAndPort: "\(video.host):\(video.port)") else {
            return CheckMeasurement(error: "the platform profile has no video: section (the SIP server cameras register to)")
        }
        guard let secrets = context.secrets else {
            return CheckMeasurement(error: "the run has no device secrets (SIP passwords) to test with; give them with --secrets-file")
        }
        let chosen: [ParkFile.ParkDevice]
        switch context.select(devices) {
        case .success(let value): chosen = value
        case .failure(let failure): return CheckMeasurement(error: failure.description)
        }
        var measurement = CheckMeasurement()
        var wrongAccepted = 0, otherAccepted = 0, ownRefused = 0, attempts = 0, unanswered = 0
        let everyone = context.devices.map(\.id)
        for device in chosen {
            guard let id = context.videoIDs[device.id]?.id else {
                return CheckMeasurement(error: "\(device.id) is not on GB/T 28181 (its model has no gb28181: section)")
            }
            guard let own = secrets.secret(for: device.id) else { return CheckMeasurement(error: "\(secrets.source) has no secret for \(device.id)") }
            let other = everyone.lazy.filter { $0 != device.id }.compactMap { secrets.secret(for: $0) }.first { $0 != own }
            var tries: [(String, String)] = [("wrong", "wrong-" + String(own.reversed()))]
            if let other { tries.append(("other", other)) }
            tries.append(("own", own))
            for (label, password) in tries {
                attempts += 1
                let outcome = await SIPRegistrationProbe.attempt(
                    platform: platform, platformID: video.id, domain: video.domain, deviceID: id, password: password,
                    timeout: .nanoseconds(Int64(common.timeout.nanoseconds)))
                switch (label, outcome) {
                case (_, .unreachable(let why)):
                    unanswered += 1
                    measurement.findings.append("\(device.id) (\(id)), \(label) password: no answer — \(why)")
                case ("wrong", .accepted):
                    wrongAccepted += 1
                    measurement.findings.append("\(device.id) (\(id)): the platform registered a wrong password")
                case ("other", .accepted):
                    otherAccepted += 1
                    measurement.findings.append("\(device.id) (\(id)): the platform registered another device's password")
                case ("own", .refused(let why)):
                    ownRefused += 1
                    measurement.findings.append("\(device.id) (\(id)): the platform refused the device's own password: \(why)")
                default:
                    break
                }
            }
            // The probe's registration replaced the device's own contact: the device registers again.
            if case .failure(let failure) = context.reconnect(device.id) { measurement.findings.append("\(device.id): \(failure)") }
        }
        measurement.metrics = [
            "wrong_password_accepted": .count(wrongAccepted), "other_password_accepted": .count(otherAccepted),
            "own_password_refused": .count(ownRefused), "attempts": .count(attempts), "unanswered": .count(unanswered),
        ]
        return measurement
    }
}
