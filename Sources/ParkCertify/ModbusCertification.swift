import Foundation
import ParkCore
import ParkModbus
import ParkProfiles
import ParkReport

/// Certifies a Modbus device — a vendor's real meter or any slave — against the register map of
/// its model profile: every declared register readable and plausible, energy monotonic, power
/// consistent with voltage × current × power factor, the right exception for an illegal address,
/// function and quantity, and response-time percentiles. Each step is a ``CheckResult`` whose
/// findings name the register (point, table, address, format) that failed.
public struct ModbusCertification: Sendable {
    /// Where the device is.
    public enum Target: Sendable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        /// A serial line (or pty), 8 data bits, 1 stop bit.
        case rtu(device: String, baudRate: Int, parity: Character)

        public var description: String {
            switch self {
            case .tcp(let host, let port): "tcp://\(host):\(port)"
            case .rtu(let device, let baudRate, let parity): "rtu://\(device) (\(baudRate) 8\(parity)1)"
            }
        }
    }

    public struct Configuration: Sendable {
        public var target: Target
        public var unit: UInt8
        public var profile: ModelProfile
        public var settings = CertificationSettings()

        public init(target: Target, unit: UInt8, profile: ModelProfile) {
            self.target = target
            self.unit = unit
            self.profile = profile
        }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// Why certification could not run at all.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs every check (blocking; a few seconds). A unit that stops answering ends the run
    /// early: the checks it left are reported with the verdict `error` (see ``CertificationSettings``).
    /// - Throws: ``Failure`` when the profile has no register map, or the target cannot be
    ///   reached or does not answer its first request.
    public func run() throws(Failure) -> [CheckResult] {
        guard let map = configuration.profile.modbus, !map.registers.isEmpty else {
            throw Failure(description: "\(configuration.profile.file) has no Modbus register map (modbus: registers)")
        }
        let client: ModbusMaster
        do {
            switch configuration.target {
            case .tcp(let host, let port):
                client = try ModbusMaster(host: host, port: port, timeoutMicroseconds: configuration.settings.timeoutMicroseconds)
            case .rtu(let device, let baudRate, let parity):
                client = try ModbusMaster(serialDevice: device, baudRate: baudRate, parity: parity,
                                          timeoutMicroseconds: configuration.settings.timeoutMicroseconds)
            }
        } catch { throw Failure(description: error.description) }
        let watch = AnswerWatch(limit: configuration.settings.giveUpAfter, device: "unit \(configuration.unit) at \(configuration.target)")
        // A unit that does not answer at all would time out on every register; say so once.
        let probe = map.registers[0]
        do throws(ModbusClientError) {
            _ = try read(probe, client, watch)
        } catch {
            if case .timeout = error {
                throw Failure(description: "unit \(configuration.unit) at \(configuration.target) does not answer (\(error))")
            }
        }
        var results: [CheckResult] = []
        func step(_ check: () -> CheckResult) {
            let stoppedBefore = watch.stopped
            results.append(watch.account(check(), stoppedBefore: stoppedBefore))
        }
        var first: Read?, second: Read?
        step {
            first = readAll(map, client, watch)
            return first!.check
        }
        step { checks.plausibility(first?.readings ?? []) }
        if !watch.stopped { configuration.settings.pause() }
        // The second pass only feeds the consistency checks: its reads were judged in the first.
        second = watch.stopped ? nil : readAll(map, client, watch)
        step { checks.monotonic(first?.readings ?? [], second?.readings ?? [], declared: map.registers.contains { MeterCertificationChecks.isCounter($0.point) }) }
        step { checks.powerConsistency(second?.readings ?? [], unread: second?.unread ?? []) }
        for probe in exceptionProbes(map) {
            step { exception(probe, client, watch) }
        }
        let register = map.registers[0]
        step {
            checks.responseTime(samples: configuration.settings.samples, limitMilliseconds: configuration.settings.responseLimitMilliseconds,
                                device: "unit \(configuration.unit)", label: "read \(register.point)", watch: watch) {
                _ = try read(register, client, watch)
            }
        }
        return results.waiving(configuration.settings.waived)
    }

    private let checks = MeterCertificationChecks(type: "modbus-certify", source: "004_5e9061d643d5fb41.txt L3462-3497", noun: "register")

    // MARK: - Checks

    private struct Read {
        var check: CheckResult
        var readings: [CertifiedReading]
        /// Points whose register could not be read.
        var unread: Set<String> = []
    }

    private func describe(_ register: ModelModbusMap.Register) -> String {
        "\(register.point) (\(register.table) 0x\(String(format: "%04X", register.address)), \(register.type) \(register.order)\(register.scale == 1 ? "" : " ×\(JSONText.number(register.scale))"))"
    }

    private func format(_ register: ModelModbusMap.Register) -> ModbusValueFormat? {
        ModbusValueFormat(typeName: register.type, orderName: register.order, scale: register.scale)
    }

    /// A timeout or a lost connection is no answer; an exception is one.
    private static func isUnanswered(_ error: ModbusClientError) -> Bool {
        switch error {
        case .timeout, .transport: true
        case .exception: false
        }
    }

    /// One request through `watch`, which counts whether it was answered.
    private func ask<T>(_ watch: AnswerWatch, _ request: () throws(ModbusClientError) -> T) throws(ModbusClientError) -> T {
        do {
            let value = try request()
            watch.record(answered: true)
            return value
        } catch {
            watch.record(answered: !Self.isUnanswered(error))
            throw error
        }
    }

    private func read(_ register: ModelModbusMap.Register, _ client: ModbusMaster, _ watch: AnswerWatch) throws(ModbusClientError) -> [UInt16] {
        try ask(watch) { () throws(ModbusClientError) -> [UInt16] in
            try client.readRegisters(inputTable: register.table == "input", unit: configuration.unit, address: register.address, count: register.width)
        }
    }

    private func readAll(_ map: ModelModbusMap, _ client: ModbusMaster, _ watch: AnswerWatch) -> Read {
        let started = Date()
        var readings: [CertifiedReading] = []
        var unread: Set<String> = []
        var findings: [String] = []
        var notRead = 0
        for (index, register) in map.registers.enumerated() {
            if watch.stopped {
                notRead = map.registers.count - index
                findings.append("\(notRead) more registers not read: \(watch.reason)")
                break
            }
            guard let format = format(register) else {
                findings.append("\(describe(register)): the profile's type or order is unknown")
                continue
            }
            do {
                if let value = format.decode(try read(register, client, watch)) {
                    readings.append(CertifiedReading(point: register.point, location: describe(register), value: value,
                                                     wireFloat: register.type.hasPrefix("float")))
                }
            } catch {
                findings.append("\(describe(register)): \(error)")
                unread.insert(register.point)
            }
        }
        let passed = findings.isEmpty
        // The not-read rest is one finding but many unread values.
        let unreadable = findings.count + max(0, notRead - 1)
        return Read(check: checks.result(
            id: "registers-readable", title: "Every register of the map can be read", passed: passed,
            summary: passed ? "\(map.registers.count) registers read" : "\(unreadable) of \(map.registers.count) registers could not be read",
            metrics: ["registers": .count(map.registers.count), "unreadable": .count(unreadable)], findings: findings, started: started),
            readings: readings, unread: unread)
    }

    /// A request the device must refuse, and the exception it must refuse it with.
    private struct ExceptionProbe {
        var id: String
        var title: String
        var pdu: [UInt8]
        var expected: UInt8
    }

    private func exceptionProbes(_ map: ModelModbusMap) -> [ExceptionProbe] {
        let table = map.registers[0].table
        let function: UInt8 = table == "input" ? 0x04 : 0x03
        let end = map.registers.filter { $0.table == table }.map { $0.address + $0.width }.max() ?? 0
        var probes: [ExceptionProbe] = []
        if end + 1 <= 65_535 {
            probes.append(ExceptionProbe(id: "exception-illegal-address", title: "A register past the map gets exception 02",
                                         pdu: [function, UInt8(end >> 8), UInt8(end & 0xFF), 0, 1], expected: 0x02))
        }
        probes.append(ExceptionProbe(id: "exception-illegal-function", title: "An unsupported function gets exception 01", pdu: [0x41, 0, 0], expected: 0x01))
        probes.append(ExceptionProbe(id: "exception-illegal-value", title: "Reading 126 registers gets exception 03",
                                     pdu: [function, UInt8(map.registers[0].address >> 8), UInt8(map.registers[0].address & 0xFF), 0, 126], expected: 0x03))
        return probes
    }

    private func exception(_ probe: ExceptionProbe, _ client: ModbusMaster, _ watch: AnswerWatch) -> CheckResult {
        let started = Date()
        let (id, title, pdu, expected) = (probe.id, probe.title, probe.pdu, probe.expected)
        guard !watch.stopped else { return checks.result(id: id, title: title, verdict: .error, summary: "not run", started: started) }
        do {
            let answer = try ask(watch) { () throws(ModbusClientError) -> [UInt8] in try client.rawRequest(unit: configuration.unit, pdu: pdu) }
            if answer.count >= 2, answer[0] & 0x80 != 0 {
                var findings: [String] = []
                if answer[0] != pdu[0] | 0x80 {
                    findings.append("the exception answer carries function byte \(hex(answer[0])), not \(hex(pdu[0] | 0x80)) (the request's function with the high bit set)")
                }
                if answer[1] != expected {
                    findings.append("answered exception \(hex(answer[1])) where \(hex(expected)) was expected")
                }
                return checks.result(id: id, title: title, passed: findings.isEmpty,
                                     summary: "answered \(answer.prefix(2).map(hex).joined(separator: " ")) (expected \(hex(pdu[0] | 0x80)) \(hex(expected)))",
                                     findings: findings, started: started)
            }
            return checks.result(id: id, title: title, passed: false, summary: "answered normally",
                                 findings: ["answered a normal response (\(answer.count) bytes) where exception \(hex(expected)) was expected"], started: started)
        } catch {
            return checks.result(id: id, title: title, passed: false, summary: "no answer", findings: ["\(error)"], started: started)
        }
    }

    private func hex(_ byte: UInt8) -> String { MeterCertificationChecks.hex(byte) }
}
