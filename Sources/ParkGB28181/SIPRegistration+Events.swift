/// The registration's events: each takes `now` (monotonic ns) and returns what to send.
extension SIPRegistration {
    /// Registers (again) from scratch.
    public mutating func start(now: UInt64, settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> [Outgoing] {
        stopping = false
        state = .registering
        return [register(expires: settings.expires, purpose: .register, settings: settings, random: &random)]
    }

    /// Unregisters (Expires: 0) when registered; otherwise just stops. A registration in flight
    /// is unregistered once it is granted.
    public mutating func stop(now: UInt64, settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> [Outgoing] {
        refreshAt = .max
        keepaliveAt = .max
        switch state {
        case .registered:
            state = .unregistering
            return [register(expires: 0, purpose: .unregister, settings: settings, random: &random)]
        case .registering:
            stopping = true
        case .unregistered, .unregistering, .failed:
            state = state == .unregistering ? .unregistering : .unregistered
        }
        return []
    }

    /// Power lost: the registration just ends, nothing is sent (the platform finds out by the
    /// missing keepalives). Responses to requests still in flight change nothing.
    public mutating func halt() {
        refreshAt = .max
        keepaliveAt = .max
        stopping = false
        state = .unregistered
    }

    /// A final response to one of this camera's transactions (provisional ones change nothing here).
    public mutating func received(
        _ response: SIPMessage, for purpose: Purpose, now: UInt64, settings: SIPRegistrationSettings,
        random: inout some RandomNumberGenerator
    ) -> [Outgoing] {
        guard let status = response.status, status >= 200 else { return [] }
        if purpose == .message {
            if (200..<300).contains(status) { counters.messagesAnswered += 1 } else { counters.messagesFailed += 1 }
            return []
        }
        if purpose == .keepalive {
            if (200..<300).contains(status) {
                counters.keepalivesAnswered += 1
                missedInARow = 0
                return []
            }
            return keepaliveMissed(now: now, settings: settings, random: &random)
        }
        switch status {
        case 200..<300:
            guard purpose == .register else {
                state = .unregistered
                return []
            }
            // Halted (power lost) while the REGISTER was out: the device is gone, the grant too.
            guard state != .unregistered else { return [] }
            counters.registered += 1
            attempt = 0
            credentialsRechallenged = false
            let granted = UInt64(max(response.expires ?? settings.expires, 1)) * 1_000_000_000
            state = .registered(until: now + granted)
            refreshAt = now + granted / 2
            if keepaliveAt == .max, settings.keepalivesFromTimer { keepaliveAt = now + settings.keepaliveInterval }
            if stopping { return stop(now: now, settings: settings, random: &random) }
            return []
        case 401, 407:
            counters.challenges += 1
            let header = status == 401 ? "WWW-Authenticate" : "Proxy-Authenticate"
            guard let value = response.headers[header], let offered = try? DigestChallenge(headerValue: value) else {
                return fail(.badChallenge, purpose: purpose, now: now, settings: settings, random: &random)
            }
            // Our answer to this very nonce came back challenged: the password is wrong. A fresh
            // nonce gets one more answer (a platform may re-challenge a cached-credential refresh),
            // never a second: RFC 3261 §22.2 forbids resending refused credentials unless stale.
            if let answered = answeredNonce, !offered.stale {
                if offered.nonce == answered || credentialsRechallenged {
                    return fail(.credentialsRefused, purpose: purpose, now: now, settings: settings, random: &random)
                }
                credentialsRechallenged = true
            }
            challenge = offered
            challengeIsProxy = status == 407
            nonceCount = 0
            let expires = purpose == .unregister ? 0 : settings.expires
            return [register(expires: expires, purpose: purpose, settings: settings, random: &random)]
        case 403:
            counters.forbidden += 1
            return fail(.forbidden, purpose: purpose, now: now, settings: settings, random: &random)
        default:
            return fail(.rejected(status: status), purpose: purpose, now: now, settings: settings, random: &random)
        }
    }

    /// Timer F fired on one of this camera's transactions.
    public mutating func timedOut(
        _ purpose: Purpose, now: UInt64, settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator
    ) -> [Outgoing] {
        if purpose == .keepalive { return keepaliveMissed(now: now, settings: settings, random: &random) }
        if purpose == .message {
            counters.messagesFailed += 1
            return []
        }
        counters.timeouts += 1
        return fail(.timedOut, purpose: purpose, now: now, settings: settings, random: &random)
    }

    /// Does whatever is due at `now`: a retry after backoff, a refresh, a keepalive.
    public mutating func timerFired(now: UInt64, settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> [Outgoing] {
        var out: [Outgoing] = []
        if case .failed(_, let retryAt) = state, now >= retryAt {
            state = .registering
            out.append(register(expires: settings.expires, purpose: .register, settings: settings, random: &random))
        }
        guard case .registered = state else { return out }
        if now >= refreshAt {
            refreshAt = .max
            if refreshRefused {
                counters.refreshesRefused += 1
            } else {
                out.append(register(expires: settings.expires, purpose: .register, settings: settings, random: &random))
            }
        }
        if now >= keepaliveAt {
            keepaliveAt = now + settings.keepaliveInterval
            out.append(keepalive(settings: settings, random: &random))
        }
        return out
    }

    /// A Keepalive now, when the device's own timer says so (``SIPRegistrationSettings/keepalivesFromTimer``
    /// off); nothing unless registered.
    public mutating func keepaliveDue(settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> [Outgoing] {
        guard case .registered = state else { return [] }
        return [keepalive(settings: settings, random: &random)]
    }

    /// Any MESSAGE with a MANSCDP body to the platform (an alarm, a query's response); sent
    /// whatever the state, as a real device does while its registration is in doubt.
    public mutating func message(body: [UInt8], settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> [Outgoing] {
        [managedMessage(body: body, settings: settings, random: &random)]
    }

    private mutating func keepaliveMissed(now: UInt64, settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator) -> [Outgoing] {
        counters.keepalivesMissed += 1
        missedInARow += 1
        guard missedInARow >= settings.maxMissedKeepalives, case .registered = state else { return [] }
        missedInARow = 0
        counters.reregistrations += 1
        keepaliveAt = .max
        refreshAt = .max
        // The platform has most likely forgotten us: start over, challenge included.
        challenge = nil
        return start(now: now, settings: settings, random: &random)
    }

    /// Backs off after a failed REGISTER; a failed unregistration just ends.
    private mutating func fail(
        _ failure: Failure, purpose: Purpose, now: UInt64, settings: SIPRegistrationSettings, random: inout some RandomNumberGenerator
    ) -> [Outgoing] {
        challenge = nil
        credentialsRechallenged = false
        refreshAt = .max
        keepaliveAt = .max
        guard purpose == .register, !stopping else {
            state = .unregistered
            return []
        }
        attempt += 1
        state = .failed(failure, retryAt: now + settings.backoff.delay(attempt: attempt, using: &random))
        return []
    }
}
