import ParkEventLoop
import ParkGB28181

/// One registration attempt as a given device, from a socket of its own, for checks that ask
/// whether a platform's SIP server lets a device in: the digest round, then what became of it.
enum SIPRegistrationProbe {
    /// What the platform did with the attempt.
    enum Outcome: Sendable, Equatable, CustomStringConvertible {
        case accepted
        case refused(String)
        case unreachable(String)

        var description: String {
            switch self {
            case .accepted: "registered"
            case .refused(let why): "refused (\(why))"
            case .unreachable(let why): "no answer (\(why))"
            }
        }
    }

    /// Registers as `deviceID` with `password` and, when that works, unregisters at once.
    /// Waits at most `timeout` (the transaction timeout too, so a silent platform costs no more).
    static func attempt(
        platform: SIPAddress, platformID: String, domain: String, deviceID: String, password: String, timeout: Duration
    ) async -> Outcome {
        let transport: SIPUDPTransport<SIPRegistrarClient>
        do {
            transport = try SIPUDPTransport(binding: SIPAddress(ipv4: 0x7F00_0001, port: 0)) { local in
                var client = SIPRegistrarClient(
                    settings: SIPRegistrationSettings(
                        server: platform, serverID: platformID, domain: domain, local: local,
                        timers: SIPTimers(timeoutF: timeout)),
                    seed: UInt64(truncatingIfNeeded: MonotonicClock.now()))
                client.add(deviceID: deviceID, password: password)
                return client
            }
            try transport.start()
        } catch {
            return .unreachable("cannot open a probe socket: \(error)")
        }
        defer { transport.stop() }
        transport.perform { client, now in client.start(0, now: now) }
        let deadline = MonotonicClock.now() + UInt64(timeout.nanoseconds) + 200_000_000
        while MonotonicClock.now() < deadline {
            let state = transport.inspect { $0.registrations[0].state }
            switch state {
            case .registered:
                transport.perform { client, now in client.stop(0, now: now) }
                // The unregistration's answer is waited for briefly; the verdict is already in.
                let until = MonotonicClock.now() + 1_000_000_000
                while MonotonicClock.now() < until, transport.inspect({ $0.transactions.count }) > 0 { try? await Task.sleep(nanoseconds: 5_000_000) }
                return .accepted
            case .failed(.timedOut, _):
                return .unreachable("no answer to REGISTER within \(timeout)")
            case .failed(let failure, _):
                return .refused("\(failure)")
            case .unregistered, .registering, .unregistering:
                try? await Task.sleep(nanoseconds: 5_000_000)
            }
        }
        return .unreachable("not registered or refused within \(timeout)")
    }
}
