import Foundation
import ParkEventLoop
import ParkOCPP
import ParkReport

/// One charger certification: the cases in order, each judged from what the log holds.
struct CertificationRun {
    let configuration: ChargerCertification.Configuration
    let log: CertificationLog
    let port: Int
    /// The session the remote-start case began: its transactionId, and the wall time its meter values start.
    var transaction: Int64?
    var outage: (start: Date, end: Date)?

    init(configuration: ChargerCertification.Configuration, log: CertificationLog, port: Int) {
        self.configuration = configuration
        self.log = log
        self.port = port
    }

    static let source = "OCPP 1.6J (OCPP-J 1.6, OCPP 1.6 edition 2)"

    // MARK: Waiting

    /// Waits until `find` finds something in the log, or `timeout` passes.
    func wait<T>(_ timeout: Duration, _ find: ([LoggedMessage]) -> T?) -> T? { poll(timeout) { find(log.messages) } }

    /// Why a call of ours got no answer the run can judge.
    struct NoAnswer: Error {
        var reason: String
    }

    /// Sends a call and waits for its outcome: the answer's payload, or why there is none.
    func ask(_ action: String, _ payload: JSONValue) -> Result<JSONValue, NoAnswer> {
        guard let tag = log.call(action, payload) else { return .failure(NoAnswer(reason: "the charge point is not connected")) }
        let outcome = wait(configuration.answerTimeout + .seconds(1)) { messages in messages.last { $0.kind != .call && $0.tag == tag } }
        guard let outcome else { return .failure(NoAnswer(reason: "no answer to \(action) within \(configuration.answerTimeout)")) }
        switch outcome.kind {
        case .answered: return .success(outcome.payload)
        case .refused:
            return .failure(NoAnswer(reason: "\(action) refused: \(outcome.payload["errorCode"]?.string ?? "?") \(outcome.payload["errorDescription"]?.string ?? "")"))
        default: return .failure(NoAnswer(reason: "no answer to \(action)"))
        }
    }

    /// Calls of `action` from the charge point, after `index` in the log.
    func calls(_ action: String, in messages: [LoggedMessage], after index: Int = 0) -> [LoggedMessage] {
        messages.dropFirst(index).filter { $0.kind == .call && $0.action == action }
    }

    func result(_ id: String, _ title: String, _ verdict: RunReport.Verdict, _ summary: String, findings: [String] = [],
                metrics: [String: Metric] = [:], started: Date) -> CheckResult {
        CheckResult(
            id: id, title: title, type: "charger-certify", source: Self.source, severity: id == "boot" || id == "offline-queue" ? "critical" : "major",
            verdict: verdict, summary: summary, metrics: metrics, latency: nil, findings: findings,
            startedAt: ISO8601DateFormatter().string(from: started), startedAtNanoseconds: RunReport.nanoseconds(started),
            durationMilliseconds: Date().timeIntervalSince(started) * 1000)
    }

    func notRun(_ id: String, because reason: String) -> CheckResult {
        result(id, id, .skipped, "not run: \(reason)", started: Date())
    }

    // MARK: The run

    mutating func all() throws(ChargerCertificationError) -> [CheckResult] {
        var checks = [try boot()]
        checks.append(configurationCase())
        checks.append(heartbeat())
        checks.append(unknownAction())
        // Before the session: the connector is quiet, so a status after the trigger answers it
        // (after a reconnect a charge point sends its statuses of its own).
        checks.append(triggerMessage())
        checks.append(changeAvailability())
        let start = remoteStart()
        checks.append(start)
        guard start.verdict == .pass, transaction != nil else {
            checks += ["meter-values", "offline-queue", "remote-stop"].map { notRun($0, because: "no remote session to judge") }
            return checks + [reset(), statusTransitions(), messagesValid()]
        }
        checks.append(offlineQueue())
        checks.append(remoteStop())
        // Judged last: the whole session's meter values, before and after the outage.
        checks.insert(meterValues(), at: checks.count - 2)
        return checks + [reset(), statusTransitions(), messagesValid()]
    }

    /// The charge point connects (its password, when it has one) and sends BootNotification.
    func boot() throws(ChargerCertificationError) -> CheckResult {
        let started = Date()
        let c = configuration
        c.progress("waiting up to \(c.bootTimeout) for \(c.chargePointID) to connect to ws://\(c.host):\(port)/…/\(c.chargePointID) (subprotocol ocpp1.6) and boot")
        guard let boot = wait(c.bootTimeout, { calls("BootNotification", in: $0).first }) else {
            throw .noBoot("\(c.chargePointID) did not connect and boot within \(c.bootTimeout)"
                          + (log.connections > 0 ? " (it connected \(log.connections) times but sent no BootNotification)" : ""))
        }
        var findings: [String] = []
        let vendor = boot.payload["chargePointVendor"]?.string ?? "", model = boot.payload["chargePointModel"]?.string ?? ""
        if let expected = c.profile.ocpp?.vendor, expected != vendor { findings.append("chargePointVendor '\(vendor)', the profile says '\(expected)'") }
        if let expected = c.profile.ocpp?.model, expected != model { findings.append("chargePointModel '\(model)', the profile says '\(expected)'") }
        let summary = "booted as \(vendor) \(model)" + (boot.payload["firmwareVersion"]?.string.map { ", firmware \($0)" } ?? "")
        return result("boot", "The charge point connects with ocpp1.6 and boots; vendor and model as its profile says", findings.isEmpty ? .pass : .fail,
                      summary, findings: findings, started: started)
    }

    /// The central system sets MeterValueSampleInterval and reads the configuration back.
    func configurationCase() -> CheckResult {
        let started = Date()
        var findings: [String] = []
        switch ask("ChangeConfiguration", ["key": "MeterValueSampleInterval", "value": .string(String(configuration.sampleInterval))]) {
        case .success(let answer):
            if answer["status"]?.string != "Accepted" { findings.append("ChangeConfiguration MeterValueSampleInterval answered \(answer["status"]?.string ?? "no status")") }
        case .failure(let why): findings.append(why.reason)
        }
        switch ask("GetConfiguration", ["key": ["MeterValueSampleInterval", "HeartbeatInterval"]]) {
        case .success(let answer):
            let keys = answer["configurationKey"]?.array ?? []
            let sample = keys.first { $0["key"]?.string == "MeterValueSampleInterval" }?["value"]?.string
            if sample != String(configuration.sampleInterval) { findings.append("GetConfiguration gives MeterValueSampleInterval \(sample ?? "nothing"), set to \(configuration.sampleInterval)") }
        case .failure(let why): findings.append(why.reason)
        }
        return result("configuration", "ChangeConfiguration is taken and GetConfiguration reads it back", findings.isEmpty ? .pass : .fail,
                      findings.isEmpty ? "MeterValueSampleInterval set to \(configuration.sampleInterval) s and read back" : findings[0],
                      findings: findings, started: started)
    }

    /// Heartbeats come at the interval the boot answer gave (±20 %, at least ±1 s).
    func heartbeat() -> CheckResult {
        let started = Date()
        let interval = Double(configuration.heartbeatInterval)
        let first = log.messages.count
        configuration.progress("watching two heartbeat intervals (\(configuration.heartbeatInterval) s each)")
        let beats = wait(.seconds(Int64(interval * 2.6) + 2)) { messages -> [LoggedMessage]? in
            let beats = calls("Heartbeat", in: messages, after: first)
            return beats.count >= 2 ? beats : nil
        } ?? calls("Heartbeat", in: log.messages, after: first)
        guard beats.count >= 2 else {
            return result("heartbeat-interval", "Heartbeats at the interval the central system set", .fail,
                          "\(beats.count) heartbeats in \(Int(interval * 2.6) + 2) s; the boot answer set \(configuration.heartbeatInterval) s", started: started)
        }
        let gap = Double(beats[1].at - beats[0].at) / 1e9
        let tolerance = max(interval * 0.2, 1)
        return result("heartbeat-interval", "Heartbeats at the interval the central system set", abs(gap - interval) <= tolerance ? .pass : .fail,
                      String(format: "%.1f s between heartbeats, set %d s (±%.1f s)", gap, configuration.heartbeatInterval, tolerance),
                      metrics: ["heartbeat.interval": Metric(value: gap * 1000, unit: .milliseconds)], started: started)
    }

    /// An action the charge point cannot know is answered with a CALLERROR NotImplemented.
    func unknownAction() -> CheckResult {
        let started = Date()
        let outcome = ask("ParkBenchProbe", ["probe": true])
        let summary: String, verdict: RunReport.Verdict
        switch outcome {
        case .success: (verdict, summary) = (.fail, "an unknown action was answered with a CALLRESULT, as if it were known")
        case .failure(let why) where why.reason.contains("NotImplemented"): (verdict, summary) = (.pass, "answered NotImplemented")
        case .failure(let why): (verdict, summary) = (.fail, "\(why.reason) (OCPP-J 1.6 §4.2.3: NotImplemented)")
        }
        return result("unknown-action", "An unknown action is answered NotImplemented", verdict, summary, started: started)
    }

    /// RemoteStartTransaction is accepted, StartTransaction follows with the idTag, the connector charges.
    mutating func remoteStart() -> CheckResult {
        let started = Date()
        let from = log.messages.count
        switch ask("RemoteStartTransaction", ["connectorId": 1, "idTag": .string(configuration.idTag)]) {
        case .failure(let why):
            return result("remote-start", "A remote start is accepted and becomes a transaction, charging", .fail, why.reason, started: started)
        case .success(let answer) where answer["status"]?.string != "Accepted":
            return result("remote-start", "A remote start is accepted and becomes a transaction, charging", .fail,
                          "RemoteStartTransaction answered \(answer["status"]?.string ?? "no status")", started: started)
        case .success:
            break
        }
        let idTag = configuration.idTag
        guard let start = wait(configuration.answerTimeout, { calls("StartTransaction", in: $0, after: from).first }) else {
            return result("remote-start", "A remote start is accepted and becomes a transaction, charging", .fail,
                          "accepted, but no StartTransaction within \(configuration.answerTimeout)", started: started)
        }
        var findings: [String] = []
        if start.payload["idTag"]?.string != idTag { findings.append("StartTransaction idTag '\(start.payload["idTag"]?.string ?? "")', asked '\(idTag)'") }
        let charging = wait(configuration.answerTimeout) { messages in
            calls("StatusNotification", in: messages, after: from).first { $0.payload["connectorId"]?.int == 1 && $0.payload["status"]?.string == "Charging" }
        }
        if charging == nil { findings.append("connector 1 never reported Charging") }
        // The transactionId this central system gave that StartTransaction.
        transaction = Int64(start.tag)
        return result("remote-start", "A remote start is accepted and becomes a transaction, charging", findings.isEmpty ? .pass : .fail,
                      findings.isEmpty ? String(format: "accepted; StartTransaction with the idTag, Charging %.2f s after the call", (charging?.wall ?? start.wall).timeIntervalSince(started)) : findings[0],
                      findings: findings, started: started)
    }

    /// The session's meter values: each with its transactionId, energy never running back, no
    /// more energy between two than the charger's power allows.
    func meterValues() -> CheckResult {
        let started = Date()
        let samples = sessionMeterValues()
        var findings: [String] = []
        let maxPower = (Double(configuration.profile.parameters["max_power_kw"] ?? "") ?? 350) * 1_000
        var previous: (wall: Date, wh: Double)?
        for sample in samples {
            guard let wh = sample.energyWh else { findings.append("a meter value at \(sample.timestamp) without Energy.Active.Import.Register"); continue }
            if let previous {
                if wh < previous.wh { findings.append("energy ran back from \(previous.wh) to \(wh) Wh at \(sample.timestamp)") }
                let hours = max(sample.wall.timeIntervalSince(previous.wall), 1) / 3600
                if wh - previous.wh > maxPower * hours * 1.1 + 1 {
                    findings.append(String(format: "%.0f Wh in %.0f s at %@ is more than %.0f kW gives", wh - previous.wh, hours * 3600, sample.timestamp, maxPower / 1000))
                }
            }
            previous = (sample.wall, wh)
        }
        let wrongIDs = samples.filter { $0.transactionID != transaction }.count
        if wrongIDs > 0 { findings.append("\(wrongIDs) meter values of the session without its transactionId \(transaction ?? 0)") }
        if samples.count < 2 { findings.append("\(samples.count) meter values in the session; the run set one every \(configuration.sampleInterval) s") }
        return result("meter-values", "Meter values carry the session's transactionId, plausible and monotonic", findings.isEmpty ? .pass : .fail,
                      findings.isEmpty ? "\(samples.count) meter values, energy \(Int(samples.first?.energyWh ?? 0))→\(Int(samples.last?.energyWh ?? 0)) Wh" : findings[0],
                      findings: findings, metrics: ["meter_values": Metric(value: Double(samples.count), unit: .count)], started: started)
    }

    /// The connection is cut mid-session and refused for `outage`; after it returns, the meter
    /// values of the outage arrive in order, none lost, none twice, with the session's transactionId.
    mutating func offlineQueue() -> CheckResult {
        let started = Date()
        let c = configuration
        // A few samples before the cut, so the session is running for certain.
        _ = wait(.seconds(Int64(c.sampleInterval * 2 + 2))) { messages in sessionMeterValues(messages).count >= 2 ? true : nil }
        c.progress("cutting the connection for \(c.outage) mid-session (the charge point should queue its meter values)")
        let connectionsBefore = log.connections
        let cutAt = Date()
        log.cut()
        usleep(UInt32(nanoseconds(c.outage) / 1_000))
        let backAt = Date()
        log.acceptAgain()
        outage = (cutAt, backAt)
        guard wait(.seconds(60), { _ in log.connections > connectionsBefore && log.isConnected ? true : nil }) != nil else {
            return result("offline-queue", "After a lost connection the queued meter values arrive in order, none lost or doubled", .fail,
                          "the charge point did not reconnect within 60 s of the outage", started: started)
        }
        // Time to replay: until a meter value sampled after the outage arrives (a queue goes out in
        // order, so everything before it has), or two sample intervals and a little more.
        _ = wait(.seconds(Int64(c.sampleInterval * 2 + 3))) { _ in
            sessionMeterValues().contains { $0.wall > backAt.addingTimeInterval(0.2) } ? true : nil
        }
        let samples = sessionMeterValues()
        var findings: [String] = []
        // A MeterValues that arrived in the last second before the cut may have lost its answer
        // with the connection; OCPP-J has the charge point send an unanswered call again, so its
        // second copy is no duplicate. Any other repeat is.
        let unanswered = Set(samples.filter { $0.arrived > cutAt.addingTimeInterval(-1) && $0.arrived <= cutAt }.map(\.timestamp))
        var seen: Set<String> = [], retried: Set<String> = []
        var duplicates = 0
        for stamp in samples.map(\.timestamp) {
            if seen.insert(stamp).inserted { continue }
            if unanswered.contains(stamp), retried.insert(stamp).inserted { continue }
            duplicates += 1
        }
        if duplicates > 0 { findings.append("\(duplicates) meter values delivered twice (the same timestamp again)") }
        let order = zip(samples, samples.dropFirst()).filter { $0.1.wall < $0.0.wall }.count
        if order > 0 { findings.append("\(order) meter values out of order") }
        let inOutage = Set(samples.filter { $0.wall > cutAt.addingTimeInterval(0.5) && $0.wall < backAt.addingTimeInterval(-0.5) }.map(\.timestamp))
        let expected = max(1, Int((backAt.timeIntervalSince(cutAt) - 1) / Double(c.sampleInterval)) - 1)
        if inOutage.count < expected {
            findings.append("\(inOutage.count) meter values timestamped during the \(Int(backAt.timeIntervalSince(cutAt))) s outage arrived; at one per \(c.sampleInterval) s at least \(expected) were due")
        }
        let replayed = samples.filter { inOutage.contains($0.timestamp) }
        if replayed.contains(where: { $0.transactionID != transaction }) { findings.append("queued meter values without the session's transactionId") }
        return result("offline-queue", "After a lost connection the queued meter values arrive in order, none lost or doubled", findings.isEmpty ? .pass : .fail,
                      findings.isEmpty ? "\(inOutage.count) meter values of the \(Int(backAt.timeIntervalSince(cutAt))) s outage replayed in order, no duplicate" : findings[0],
                      findings: findings, metrics: ["replayed": Metric(value: Double(inOutage.count), unit: .count), "duplicates": Metric(value: Double(duplicates), unit: .count)],
                      started: started)
    }

    /// RemoteStopTransaction ends the session: StopTransaction with its id, reason Remote.
    func remoteStop() -> CheckResult {
        let started = Date()
        let from = log.messages.count
        let title = "A remote stop ends the session with StopTransaction, reason Remote"
        switch ask("RemoteStopTransaction", ["transactionId": .int(transaction ?? 0)]) {
        case .failure(let why): return result("remote-stop", title, .fail, why.reason, started: started)
        case .success(let answer) where answer["status"]?.string != "Accepted":
            return result("remote-stop", title, .fail, "RemoteStopTransaction answered \(answer["status"]?.string ?? "no status")", started: started)
        case .success: break
        }
        guard let stop = wait(configuration.answerTimeout, { calls("StopTransaction", in: $0, after: from).first }) else {
            return result("remote-stop", title, .fail, "accepted, but no StopTransaction within \(configuration.answerTimeout)", started: started)
        }
        var findings: [String] = []
        if stop.payload["transactionId"]?.int != transaction { findings.append("StopTransaction for transaction \(stop.payload["transactionId"]?.int ?? -1), not \(transaction ?? 0)") }
        if let reason = stop.payload["reason"]?.string, reason != "Remote" { findings.append("reason \(reason), not Remote") }
        let energy = sessionMeterValues().compactMap(\.energyWh).max() ?? 0
        if let meterStop = stop.payload["meterStop"]?.double, meterStop + 1 < energy { findings.append("meterStop \(Int(meterStop)) Wh below the last meter value \(Int(energy)) Wh") }
        return result("remote-stop", title, findings.isEmpty ? .pass : .fail,
                      findings.isEmpty ? "StopTransaction, reason \(stop.payload["reason"]?.string ?? "Local (default)"), meterStop \(stop.payload["meterStop"]?.int ?? 0) Wh" : findings[0],
                      findings: findings, started: started)
    }

    /// TriggerMessage StatusNotification for connector 1: Accepted, and the status follows.
    func triggerMessage() -> CheckResult {
        let started = Date()
        let title = "TriggerMessage is answered Accepted and the message asked for follows"
        // Asked once connector 1 has been quiet a second: a change of its own is no answer.
        _ = wait(configuration.answerTimeout) { messages in
            let last = calls("StatusNotification", in: messages).last { $0.payload["connectorId"]?.int == 1 }
            return last.map { Date().timeIntervalSince($0.wall) >= 1 } ?? true ? true : nil
        }
        let from = log.messages.count
        switch ask("TriggerMessage", ["requestedMessage": "StatusNotification", "connectorId": 1]) {
        case .failure(let why): return result("trigger-message", title, .fail, why.reason, started: started)
        case .success(let answer) where answer["status"]?.string != "Accepted":
            return result("trigger-message", title, .fail, "TriggerMessage StatusNotification answered \(answer["status"]?.string ?? "no status")", started: started)
        case .success: break
        }
        guard let status = wait(configuration.answerTimeout, { calls("StatusNotification", in: $0, after: from).first { $0.payload["connectorId"]?.int == 1 } }) else {
            return result("trigger-message", title, .fail, "Accepted, but no StatusNotification for connector 1 within \(configuration.answerTimeout)", started: started)
        }
        return result("trigger-message", title, .pass,
                      String(format: "Accepted; connector 1 %@ %.2f s after the call", status.payload["status"]?.string ?? "?", status.wall.timeIntervalSince(started)),
                      started: started)
    }

    /// ChangeAvailability of connector 1 to Inoperative, then back to Operative: each Accepted
    /// (or Scheduled), each followed by the StatusNotification it means (Unavailable, Available).
    func changeAvailability() -> CheckResult {
        let started = Date()
        let title = "ChangeAvailability makes connector 1 Unavailable and Available again, saying so"
        var findings: [String] = []
        for (type, status) in [("Inoperative", "Unavailable"), ("Operative", "Available")] {
            let from = log.messages.count
            switch ask("ChangeAvailability", ["connectorId": 1, "type": .string(type)]) {
            case .failure(let why):
                findings.append(why.reason)
                continue
            case .success(let answer) where !["Accepted", "Scheduled"].contains(answer["status"]?.string ?? ""):
                findings.append("ChangeAvailability \(type) answered \(answer["status"]?.string ?? "no status")")
                continue
            case .success: break
            }
            // Back to Operative after a failure only to leave the connector as it was: judged once.
            guard findings.isEmpty else { break }
            let said = wait(configuration.answerTimeout) { messages in
                calls("StatusNotification", in: messages, after: from).first { $0.payload["connectorId"]?.int == 1 && $0.payload["status"]?.string == status }
            }
            if said == nil { findings.append("ChangeAvailability \(type) accepted, but connector 1 did not report \(status) within \(configuration.answerTimeout)") }
        }
        return result("change-availability", title, findings.isEmpty ? .pass : .fail,
                      findings.first ?? "Inoperative → Unavailable, Operative → Available", findings: findings, started: started)
    }

    /// Reset (Soft): Accepted, then the charge point restarts and boots again (OCPP 1.6 §5.14).
    /// Last of the calls: the connection goes.
    func reset() -> CheckResult {
        let started = Date()
        let title = "Reset is answered Accepted and the charge point boots again"
        let from = log.messages.count
        switch ask("Reset", ["type": "Soft"]) {
        case .failure(let why): return result("reset", title, .fail, why.reason, started: started)
        case .success(let answer) where answer["status"]?.string != "Accepted":
            return result("reset", title, .fail, "Reset Soft answered \(answer["status"]?.string ?? "no status")", started: started)
        case .success: break
        }
        configuration.progress("Reset sent; waiting up to \(configuration.rebootTimeout) for the charge point to boot again")
        guard let boot = wait(configuration.rebootTimeout, { calls("BootNotification", in: $0, after: from).first }) else {
            return result("reset", title, .fail, "Accepted, but no BootNotification within \(configuration.rebootTimeout)", started: started)
        }
        return result("reset", title, .pass, String(format: "Accepted; booted again %.1f s after the call", boot.wall.timeIntervalSince(started)),
                      metrics: ["reboot_ms": Metric(value: boot.wall.timeIntervalSince(started) * 1000, unit: .milliseconds)], started: started)
    }

    /// Every connector's status changes follow OCPP 1.6's state table.
    func statusTransitions() -> CheckResult {
        let started = Date()
        var last: [Int64: String] = [:]
        var findings: [String] = []
        var count = 0
        for message in calls("StatusNotification", in: log.messages) {
            guard let connector = message.payload["connectorId"]?.int, let status = message.payload["status"]?.string else { continue }
            count += 1
            guard OCPPStatusTable.statuses.contains(status) else { findings.append("connector \(connector): '\(status)' is not an OCPP 1.6 status"); continue }
            if connector > 0, let before = last[connector], !OCPPStatusTable.allows(from: before, to: status) {
                findings.append("connector \(connector): \(before) → \(status) is not a transition OCPP 1.6 allows")
            }
            last[connector] = status
        }
        return result("status-transitions", "Every status change is one OCPP 1.6 allows", findings.isEmpty ? .pass : .fail,
                      findings.isEmpty ? "\(count) status notifications, every transition legal" : findings[0], findings: findings, started: started)
    }

    /// Every message of the charge point has the fields and types OCPP 1.6 requires.
    func messagesValid() -> CheckResult {
        let started = Date()
        var findings = log.badFrames
        for message in log.messages where message.kind == .call {
            findings += OCPPMessageRules.problems(action: message.action, payload: message.payload).map { "\(message.action): \($0)" }
        }
        let total = log.messages.filter { $0.kind == .call }.count
        return result("messages-valid", "Every message has the fields and types OCPP 1.6 requires", findings.isEmpty ? .pass : .fail,
                      findings.isEmpty ? "\(total) messages from the charge point, all well formed" : "\(findings.count) problems, e.g. \(findings[0])",
                      findings: Array(findings.prefix(20)), started: started)
    }

    // MARK: The session's meter values

    struct Sample {
        var timestamp: String
        var wall: Date
        /// When its MeterValues call arrived.
        var arrived: Date
        var energyWh: Double?
        var transactionID: Int64?
    }

    func sessionMeterValues(_ messages: [LoggedMessage]? = nil) -> [Sample] {
        var samples: [Sample] = []
        for message in calls("MeterValues", in: messages ?? log.messages) where message.payload["connectorId"]?.int == 1 {
            let transactionID = message.payload["transactionId"]?.int
            guard transactionID != nil else { continue }
            for value in message.payload["meterValue"]?.array ?? [] {
                let stamp = value["timestamp"]?.string ?? ""
                let wall = OCPPMessageRules.date(stamp) ?? message.wall
                var energy: Double?
                for sampled in value["sampledValue"]?.array ?? [] {
                    let measurand = sampled["measurand"]?.string ?? "Energy.Active.Import.Register"
                    guard measurand == "Energy.Active.Import.Register", let number = sampled["value"]?.string.flatMap(Double.init) else { continue }
                    energy = sampled["unit"]?.string == "kWh" ? number * 1000 : number
                }
                samples.append(Sample(timestamp: stamp, wall: wall, arrived: message.wall, energyWh: energy, transactionID: transactionID))
            }
        }
        return samples
    }
}
