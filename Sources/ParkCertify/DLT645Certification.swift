import Foundation
import ParkCore
import ParkModbus
import ParkReport

/// Certifies a DL/T 645-2007 electricity meter — a vendor's real meter behind a serial-to-TCP
/// converter, or any slave — the way a meter-reading gateway will use it: its number answers
/// read address (13), every standard data item a gateway polls (energy, voltages, currents,
/// power, power factor, frequency) is answered in the standard's BCD layout and is physically
/// plausible, energy never decreases, P ≈ Σ V·I·PF, an unknown data item gets an error answer
/// with bit 1 (无请求数据) set, a frame for another meter gets no answer at all (on a shared
/// RS-485 bus it would collide with that meter's), how fast it answers, and that none of its
/// answers was a broken frame (bad checksum, no end byte).
///
/// A broken answer is the meter's failure, never a configuration error: it fails
/// `frames-valid` (and the check whose read it spoiled); a meter from which nothing valid comes
/// back is unreachable. A meter that stops answering ends the run early (see ``CertificationSettings``).
///
/// Relay control (1C) is not exercised: on a real installation it cuts the supply.
public struct DLT645Certification: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The meter's 12-digit number; nil: asked with read address (a point-to-point link).
        public var meter: String?
        public var profile: ModelProfile
        public var settings = CertificationSettings()
        /// How long a frame for another meter is given to stay unanswered.
        public var silenceMicroseconds = 300_000

        public init(host: String, port: Int, meter: String?, profile: ModelProfile) {
            self.host = host
            self.port = port
            self.meter = meter
            self.profile = profile
        }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// Why certification could not run at all; `unreachable` when nothing answered.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public let unreachable: Bool
    }

    /// An item no meter has (phase D voltage): it must be refused, not ignored.
    static let unknownItem: UInt32 = 0x0201_0400

    private let checks = MeterCertificationChecks(type: "dlt645-certify", source: "004_5e9061d643d5fb41.txt L3478-3497", noun: "data item")

    /// The data items this meter must answer: every quantity a gateway polls, the phases it
    /// does not have (`phases: 1` in its profile) left out.
    var items: [DLT645DataItem] {
        let phases = Int(configuration.profile.parameters["phases"] ?? "3") ?? 3
        return DLT645DataItem.polled.filter { item in
            phases >= 3 || !(item.quantity.hasSuffix("_b") || item.quantity.hasSuffix("_c"))
        }
    }

    /// Runs every check (blocking; a few seconds).
    /// - Throws: ``Failure`` for a profile without a `dlt645:` section (not `unreachable`),
    ///   or when the meter cannot be reached, does not answer, or answers read address only
    ///   with broken frames (`unreachable`).
    public func run() throws(Failure) -> [CheckResult] {
        guard configuration.profile.dlt645 != nil else {
            throw Failure(description: "\(configuration.profile.file) (kind \(configuration.profile.kind)) has no dlt645: section; "
                + "a model that answers DL/T 645-2007 says so with `dlt645: {edition: 2007}`", unreachable: false)
        }
        let target = "\(configuration.host):\(configuration.port)"
        let master: DLT645Master
        do {
            master = try DLT645Master(host: configuration.host, port: configuration.port, timeoutMicroseconds: configuration.settings.timeoutMicroseconds)
        } catch { throw Failure(description: error.description, unreachable: true) }

        var results: [CheckResult] = []
        let started = Date()
        let meter: String
        let addressTitle = "Read address (13) answers the meter's number"
        if let given = configuration.meter {
            meter = given
            results.append(checks.result(id: "address", title: addressTitle, verdict: .skipped,
                                         summary: "meter \(given) given; on a bus every meter would answer AA…AA at once", started: started))
        } else {
            var answer: (number: String, frameAddress: String)?
            // A broken answer may be a one-off: ask again, up to the give-up limit, before
            // concluding that nothing valid comes back.
            for _ in 0 ..< max(1, configuration.settings.giveUpAfter) where answer == nil {
                do throws(DLT645Master.Failure) {
                    answer = try master.readAddress()
                } catch {
                    switch error {
                    case .timeout:
                        throw Failure(description: "no meter at \(target) answered read address (13) to AAAAAAAAAAAA; on a bus give its number with --meter",
                                      unreachable: true)
                    case .transport:
                        throw Failure(description: "read address at \(target): \(error)", unreachable: true)
                    case .brokenFrame:
                        continue
                    case .refused, .malformed:
                        // The meter answered, wrongly: its failure. Without its number nothing else can be asked.
                        results.append(checks.result(
                            id: "address", title: addressTitle, passed: false, summary: "no usable answer",
                            findings: ["read address (13): \(error); give the meter's number with --meter to run the other checks"], started: started))
                        return results.waiving(configuration.settings.waived)
                    }
                }
            }
            guard let answer else {
                throw Failure(description: "the meter at \(target) answered read address (13) only with broken frames (\(Self.describe(master.brokenFrames))); nothing valid came back",
                              unreachable: true)
            }
            meter = answer.number
            let same = answer.frameAddress == answer.number
            results.append(checks.result(
                id: "address", title: "Read address (13) answers the meter's number", passed: same, summary: "meter \(meter)",
                findings: same ? [] : ["the answer's address field is \(answer.frameAddress), not the meter's own \(answer.number)"], started: started))
        }
        let watch = AnswerWatch(limit: configuration.settings.giveUpAfter, device: "meter \(meter) at \(target)")
        // A meter that answers nothing would time out on every item; say so once.
        let probe = items[0]
        do throws(DLT645Master.Failure) {
            _ = try read(probe, meter, master, watch)
        } catch {
            switch error {
            case .timeout, .transport: throw Failure(description: "meter \(meter) at \(target) does not answer (\(error))", unreachable: true)
            default: break
            }
        }

        func step(_ check: () -> CheckResult) {
            let stoppedBefore = watch.stopped
            results.append(watch.account(check(), stoppedBefore: stoppedBefore))
        }
        var first: Pass?, second: Pass?
        step {
            first = readAll(meter, master, watch)
            return first!.check
        }
        step { checks.plausibility(first?.readings ?? []) }
        if !watch.stopped { configuration.settings.pause() }
        // The second pass only feeds the consistency checks: its reads were judged in the first.
        second = watch.stopped ? nil : readAll(meter, master, watch)
        step { checks.monotonic(first?.readings ?? [], second?.readings ?? [], declared: true) }
        step { checks.powerConsistency(second?.readings ?? [], unread: second?.unread ?? []) }
        step { unknownItemRefused(meter, master, watch) }
        step { silentForOtherMeters(meter, watch) }
        step {
            checks.responseTime(samples: configuration.settings.samples, limitMilliseconds: configuration.settings.responseLimitMilliseconds,
                                device: "meter \(meter)", label: "read \(describe(probe))", watch: watch) {
                _ = try read(probe, meter, master, watch)
            }
        }
        // Judged on every answer the run got, whether or not the meter stopped answering later.
        results.append(framesValid(master.brokenFrames, answers: master.validAnswers, started: started))
        return results.waiving(configuration.settings.waived)
    }

    /// One read through `watch`, which counts whether a valid answer came back.
    private func read(_ item: DLT645DataItem, _ meter: String, _ master: DLT645Master, _ watch: AnswerWatch) throws(DLT645Master.Failure) -> Double {
        try read(item.identifier, as: item.number, meter, master, watch)
    }

    private func read(_ identifier: UInt32, as number: DLT645Number, _ meter: String, _ master: DLT645Master,
                      _ watch: AnswerWatch) throws(DLT645Master.Failure) -> Double {
        do {
            let value = try master.read(meter: meter, identifier: identifier, as: number)
            watch.record(answered: true)
            return value
        } catch {
            watch.record(answered: !error.isUnanswered)
            throw error
        }
    }

    /// `bad checksum ×3 (e.g. checksum 5A but the bytes sum to 59)`, fault by fault.
    static func describe(_ broken: DLT645Master.BrokenFrames) -> String {
        broken.counts.sorted { $0.key < $1.key }.map { fault, count in
            "\(fault) ×\(count)" + (broken.examples[fault].map { $0 == fault ? "" : " (e.g. \($0))" } ?? "")
        }.joined(separator: ", ")
    }

    // MARK: - Checks

    private func describe(_ item: DLT645DataItem) -> String { "\(item.quantity) (\(Self.written(item.identifier)))" }

    /// A data identifier as the standard writes it: eight hex digits, DI3 first.
    static func written(_ identifier: UInt32) -> String {
        let digits = String(identifier, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Every answer a well-formed frame: a bad checksum is how a damaged meter, a noisy line or
    /// a wrong converter setting shows, and a gateway would drop those readings.
    private func framesValid(_ broken: DLT645Master.BrokenFrames, answers: Int, started: Date) -> CheckResult {
        let id = "frames-valid", title = "Every answer is a well-formed frame (checksum, end byte 16)"
        let total = answers + broken.total
        guard broken.total > 0 else {
            return checks.result(id: id, title: title, passed: true, summary: "\(answers) answers, none broken",
                                 metrics: ["answers": .count(answers), "broken": .count(0)], started: started)
        }
        return checks.result(
            id: id, title: title, passed: false, summary: "\(broken.total) of \(total) frames broken",
            metrics: ["answers": .count(answers), "broken": .count(broken.total)],
            findings: ["\(broken.total) of the \(total) frames the meter sent were broken: \(Self.describe(broken))"], started: started)
    }

    /// One pass over every item: its check, what was read, and the quantities that could not be.
    private typealias Pass = (check: CheckResult, readings: [CertifiedReading], unread: Set<String>)

    private func readAll(_ meter: String, _ master: DLT645Master, _ watch: AnswerWatch) -> Pass {
        let started = Date()
        var readings: [CertifiedReading] = []
        var unread: Set<String> = []
        var findings: [String] = []
        var notRead = 0
        for (index, item) in items.enumerated() {
            if watch.stopped {
                notRead = items.count - index
                findings.append("\(notRead) more data items not read: \(watch.reason)")
                break
            }
            do throws(DLT645Master.Failure) {
                let value = try read(item, meter, master, watch)
                readings.append(CertifiedReading(point: item.quantity, location: describe(item), value: value))
            } catch {
                findings.append("\(describe(item)): \(error)")
                unread.insert(item.quantity)
            }
        }
        let passed = findings.isEmpty
        // The not-read rest is one finding but many unread values.
        let unreadable = findings.count + max(0, notRead - 1)
        return (checks.result(
            id: "items-readable", title: "Every standard data item a gateway polls is answered", passed: passed,
            summary: passed ? "\(items.count) data items read" : "\(unreadable) of \(items.count) data items could not be read",
            metrics: ["items": .count(items.count), "unreadable": .count(unreadable)], findings: findings, started: started),
            readings, unread)
    }

    private func unknownItemRefused(_ meter: String, _ master: DLT645Master, _ watch: AnswerWatch) -> CheckResult {
        let started = Date()
        let id = "error-unknown-item", title = "An unknown data item gets an error answer with bit 1 (no requested data)"
        guard !watch.stopped else { return checks.result(id: id, title: title, verdict: .error, summary: "not run", started: started) }
        let item = Self.written(Self.unknownItem)
        do throws(DLT645Master.Failure) {
            _ = try read(Self.unknownItem, as: DLT645Number(bytes: 2, decimals: 1), meter, master, watch)
            return checks.result(id: id, title: title, passed: false, summary: "answered normally",
                                 findings: ["data item \(item) (phase D voltage, which no meter has) was answered as if it existed"], started: started)
        } catch {
            switch error {
            case .refused(_, let code):
                let passed = code & 0x02 != 0
                return checks.result(id: id, title: title, passed: passed, summary: "answered error \(MeterCertificationChecks.hex(code))",
                                     findings: passed ? [] : ["data item \(item) was refused with error byte \(MeterCertificationChecks.hex(code)), without bit 1 (02, no requested data) set"],
                                     started: started)
            case .timeout:
                return checks.result(id: id, title: title, passed: false, summary: "no answer",
                                     findings: ["data item \(item) got no answer; a meter answers what it cannot read with an error frame (control D1)"], started: started)
            default:
                return checks.result(id: id, title: title, passed: false, summary: "broken answer", findings: ["\(error)"], started: started)
            }
        }
    }

    /// A frame addressed to another meter must go unanswered: on RS-485 every meter hears it.
    private func silentForOtherMeters(_ meter: String, _ watch: AnswerWatch) -> CheckResult {
        let started = Date()
        let id = "silent-to-other-meters", title = "A frame for another meter gets no answer"
        guard !watch.stopped else { return checks.result(id: id, title: title, verdict: .error, summary: "not run", started: started) }
        let other = meter == "999999999990" ? "999999999991" : "999999999990"
        let master: DLT645Master
        do {
            master = try DLT645Master(host: configuration.host, port: configuration.port, timeoutMicroseconds: configuration.silenceMicroseconds)
        } catch {
            return checks.result(id: id, title: title, passed: false, summary: "could not connect", findings: ["\(error)"], started: started)
        }
        do throws(DLT645Master.Failure) {
            _ = try master.read(meter: other, identifier: 0x0001_0000, as: DLT645Number(bytes: 4, decimals: 2))
            return checks.result(id: id, title: title, passed: false, summary: "answered for meter \(other)",
                                 findings: ["a read for meter \(other) was answered; on a shared RS-485 bus that answer collides with meter \(other)'s"],
                                 started: started)
        } catch {
            switch error {
            case .timeout:
                return checks.result(id: id, title: title, passed: true,
                                     summary: "no answer to meter \(other) within \(configuration.silenceMicroseconds / 1000) ms", started: started)
            case .refused(_, let code):
                return checks.result(id: id, title: title, passed: false, summary: "answered error \(MeterCertificationChecks.hex(code)) for meter \(other)",
                                     findings: ["a read for meter \(other) was answered with an error frame (\(MeterCertificationChecks.hex(code))); a meter stays silent for frames that are not its own, or they collide on a shared RS-485 bus"],
                                     started: started)
            default:
                return checks.result(id: id, title: title, passed: false, summary: "broken answer", findings: ["\(error)"], started: started)
            }
        }
    }
}
