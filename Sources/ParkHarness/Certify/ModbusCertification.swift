import Foundation
import ParkCore
import ParkModbus
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
        /// Reads timed for the response-time check.
        public var samples = 200
        /// Time between the two reads the consistency checks compare.
        public var interval: Duration = .seconds(2)
        /// p99 response time above this fails (a master's usual timeout).
        public var responseLimitMilliseconds = 1000.0
        public var timeoutMicroseconds = 1_000_000
        /// Checks that run and are reported but do not count against the verdict (a known,
        /// accepted deviation of the device).
        public var waived: Set<String> = []

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

    /// Runs every check (blocking; a few seconds). - Throws: ``Failure`` when the profile has no
    /// register map or the target cannot be reached.
    public func run() throws(Failure) -> [CheckResult] {
        guard let map = configuration.profile.modbus, !map.registers.isEmpty else {
            throw Failure(description: "\(configuration.profile.file) has no Modbus register map (modbus: registers)")
        }
        let client: ModbusMaster
        do {
            switch configuration.target {
            case .tcp(let host, let port):
                client = try ModbusMaster(host: host, port: port, timeoutMicroseconds: configuration.timeoutMicroseconds)
            case .rtu(let device, let baudRate, let parity):
                client = try ModbusMaster(serialDevice: device, baudRate: baudRate, parity: parity,
                                          timeoutMicroseconds: configuration.timeoutMicroseconds)
            }
        } catch { throw Failure(description: error.description) }
        // A unit that does not answer at all would time out on every register; say so once.
        let probe = map.registers[0]
        do throws(ModbusClientError) {
            _ = try read(probe, client)
        } catch {
            if case .timeout = error {
                throw Failure(description: "unit \(configuration.unit) at \(configuration.target) does not answer (\(error))")
            }
        }
        var results: [CheckResult] = []
        let first = readAll(map, client)
        results.append(first.check)
        results.append(plausibility(first.values, map))
        Thread.sleep(forTimeInterval: Double(configuration.interval.components.seconds) + Double(configuration.interval.components.attoseconds) / 1e18)
        let second = readAll(map, client)
        results.append(monotonic(first.values, second.values, map))
        results.append(powerConsistency(second.values))
        results.append(contentsOf: exceptions(map, client))
        results.append(responseTime(map, client))
        return results.map { check in
            guard configuration.waived.contains(check.id), check.verdict == .fail else { return check }
            var waived = check
            waived.verdict = .skipped
            waived.summary = "waived: " + check.summary
            return waived
        }
    }

    // MARK: - Checks

    private struct Read {
        var check: CheckResult
        var values: [String: Double]
    }

    private func describe(_ register: ModelModbusMap.Register) -> String {
        "\(register.point) (\(register.table) 0x\(String(format: "%04X", register.address)), \(register.type) \(register.order)\(register.scale == 1 ? "" : " ×\(JSONText.number(register.scale))"))"
    }

    private func format(_ register: ModelModbusMap.Register) -> ModbusValueFormat? {
        ModbusValueFormat(typeName: register.type, orderName: register.order, scale: register.scale)
    }

    private func read(_ register: ModelModbusMap.Register, _ client: ModbusMaster) throws(ModbusClientError) -> [UInt16] {
        try client.readRegisters(inputTable: register.table == "input", unit: configuration.unit, address: register.address, count: register.width)
    }

    private func readAll(_ map: ModelModbusMap, _ client: ModbusMaster) -> Read {
        let started = Date()
        var values: [String: Double] = [:]
        var findings: [String] = []
        for register in map.registers {
            guard let format = format(register) else {
                findings.append("\(describe(register)): the profile's type or order is unknown")
                continue
            }
            do {
                if let value = format.decode(try read(register, client)) { values[register.point] = value }
            } catch {
                findings.append("\(describe(register)): \(error)")
            }
        }
        let passed = findings.isEmpty
        return Read(check: result(
            id: "registers-readable", title: "Every register of the map can be read", passed: passed,
            summary: passed ? "\(map.registers.count) registers read" : "\(findings.count) of \(map.registers.count) registers could not be read",
            metrics: ["registers": Double(map.registers.count), "unreadable": Double(findings.count)], findings: findings, started: started),
            values: values)
    }

    /// Physical ranges by point name: a register read in the wrong byte order or scale lands
    /// far outside them.
    static func plausibleRange(of point: String) -> (ClosedRange<Double>, String)? {
        if point.hasPrefix("voltage") { return (0 ... 1000, "V") }
        if point.hasPrefix("current") { return (-10_000 ... 10_000, "A") }
        if point.hasPrefix("power_factor") { return (-1 ... 1, "") }
        if point.hasPrefix("frequency") { return (45 ... 65, "Hz") }
        if point.hasPrefix("active_power") || point.hasPrefix("reactive_power") { return (-100_000 ... 100_000, "kW") }
        if point.hasPrefix("energy") { return (0 ... 1e10, "kWh") }
        if point == "volume" { return (0 ... 1e9, "m³") }
        if point == "flow" { return (0 ... 100_000, "m³/h") }
        if point == "battery_voltage" { return (0 ... 60, "V") }
        return nil
    }

    private func plausibility(_ values: [String: Double], _ map: ModelModbusMap) -> CheckResult {
        let started = Date()
        var findings: [String] = []
        var checked = 0
        for register in map.registers {
            guard let value = values[register.point] else { continue }
            guard value.isFinite else {
                findings.append("\(describe(register)) read \(value): not a number (wrong type or byte order?)")
                continue
            }
            guard let (range, unit) = Self.plausibleRange(of: register.point) else { continue }
            checked += 1
            // A float read in the wrong word order is usually a tiny denormal-like number.
            if register.type.hasPrefix("float"), value != 0, abs(value) < 1e-6 {
                findings.append("\(describe(register)) read \(value) \(unit): implausibly small (wrong byte order?)")
            } else if !range.contains(value) {
                findings.append("\(describe(register)) read \(JSONText.number(value)) \(unit), outside \(JSONText.number(range.lowerBound))…\(JSONText.number(range.upperBound)) (wrong byte order, type or scale?)")
            }
        }
        if checked == 0, findings.isEmpty {
            return result(id: "values-plausible", title: "Values are within physical ranges", verdict: .skipped,
                          summary: "no value with a known range was read", started: started)
        }
        return result(id: "values-plausible", title: "Values are within physical ranges", passed: findings.isEmpty,
                      summary: findings.isEmpty ? "\(checked) values within range" : "\(findings.count) values out of range",
                      metrics: ["checked": Double(checked)], findings: findings, started: started)
    }

    private func monotonic(_ first: [String: Double], _ second: [String: Double], _ map: ModelModbusMap) -> CheckResult {
        let started = Date()
        let counters = map.registers.filter { $0.point.hasPrefix("energy") || $0.point == "volume" }
        guard !counters.isEmpty else {
            return result(id: "energy-monotonic", title: "Energy and volume never decrease", verdict: .skipped,
                          summary: "the map has no energy or volume register", started: started)
        }
        var findings: [String] = []
        let compared = counters.filter { first[$0.point] != nil && second[$0.point] != nil }
        guard !compared.isEmpty else {
            return result(id: "energy-monotonic", title: "Energy and volume never decrease", verdict: .skipped,
                          summary: "no energy or volume register could be read twice", started: started)
        }
        for register in compared {
            guard let a = first[register.point], let b = second[register.point] else { continue }
            if b < a { findings.append("\(describe(register)) went down from \(JSONText.number(a)) to \(JSONText.number(b))") }
        }
        return result(id: "energy-monotonic", title: "Energy and volume never decrease", passed: findings.isEmpty,
                      summary: findings.isEmpty ? "\(compared.count) counters did not decrease" : "\(findings.count) counters decreased",
                      findings: findings, started: started)
    }

    private func powerConsistency(_ values: [String: Double]) -> CheckResult {
        let started = Date()
        guard let power = values["active_power"] else {
            return result(id: "power-consistent", title: "P ≈ Σ V·I·PF", verdict: .skipped, summary: "no active_power register", started: started)
        }
        let phases = ["a", "b", "c"].compactMap { phase -> Double? in
            guard let volts = values["voltage_\(phase)"], let amps = values["current_\(phase)"] else { return nil }
            return volts * amps
        }
        guard !phases.isEmpty else {
            return result(id: "power-consistent", title: "P ≈ Σ V·I·PF", verdict: .skipped, summary: "no voltage/current registers", started: started)
        }
        let factor = values["power_factor"] ?? 1
        let computed = phases.reduce(0, +) * abs(factor) / 1000
        let tolerance = abs(power) * 0.05 + 0.05
        let passed = abs(computed - power) <= tolerance
        return result(
            id: "power-consistent", title: "P ≈ Σ V·I·PF", passed: passed,
            summary: String(format: "active_power %.4f kW, Σ V·I·PF %.4f kW (tolerance %.4f)", power, computed, tolerance),
            metrics: ["active_power_kw": power, "computed_kw": computed],
            findings: passed ? [] : [String(format: "active_power reads %.4f kW but voltage_x × current_x × power_factor give %.4f kW (one of those registers is read wrong, or the meter is inconsistent)", power, computed)],
            started: started)
    }

    private func exceptions(_ map: ModelModbusMap, _ client: ModbusMaster) -> [CheckResult] {
        let unit = configuration.unit
        let table = map.registers[0].table
        let function: UInt8 = table == "input" ? 0x04 : 0x03
        let end = map.registers.filter { $0.table == table }.map { $0.address + $0.width }.max() ?? 0
        func probe(_ id: String, _ title: String, pdu: [UInt8], expected: UInt8) -> CheckResult {
            let started = Date()
            do {
                let answer = try client.rawRequest(unit: unit, pdu: pdu)
                if answer.count >= 2, answer[0] & 0x80 != 0 {
                    var findings: [String] = []
                    if answer[0] != pdu[0] | 0x80 {
                        findings.append("the exception answer carries function byte \(hex(answer[0])), not \(hex(pdu[0] | 0x80)) (the request's function with the high bit set)")
                    }
                    if answer[1] != expected {
                        findings.append("answered exception \(hex(answer[1])) where \(hex(expected)) was expected")
                    }
                    return result(id: id, title: title, passed: findings.isEmpty,
                                  summary: "answered \(answer.prefix(2).map(hex).joined(separator: " ")) (expected \(hex(pdu[0] | 0x80)) \(hex(expected)))",
                                  findings: findings, started: started)
                }
                return result(id: id, title: title, passed: false, summary: "answered normally",
                              findings: ["answered a normal response (\(answer.count) bytes) where exception \(hex(expected)) was expected"], started: started)
            } catch {
                return result(id: id, title: title, passed: false, summary: "no answer", findings: ["\(error)"], started: started)
            }
        }
        var results: [CheckResult] = []
        if end + 1 <= 65_535 {
            results.append(probe("exception-illegal-address", "A register past the map gets exception 02",
                                 pdu: [function, UInt8(end >> 8), UInt8(end & 0xFF), 0, 1], expected: 0x02))
        }
        results.append(probe("exception-illegal-function", "An unsupported function gets exception 01", pdu: [0x41, 0, 0], expected: 0x01))
        results.append(probe("exception-illegal-value", "Reading 126 registers gets exception 03",
                             pdu: [function, UInt8(map.registers[0].address >> 8), UInt8(map.registers[0].address & 0xFF), 0, 126], expected: 0x03))
        return results
    }

    private func responseTime(_ map: ModelModbusMap, _ client: ModbusMaster) -> CheckResult {
        let started = Date()
        let register = map.registers[0]
        var samples: [LatencySample] = []
        var failures = 0
        for _ in 0 ..< configuration.samples {
            let begin = Date()
            do {
                _ = try read(register, client)
            } catch {
                failures += 1
                continue
            }
            let end = Date()
            samples.append(LatencySample(
                device: "unit \(configuration.unit)", label: "read \(register.point)",
                startNanoseconds: Int64(begin.timeIntervalSince1970 * 1e9), endNanoseconds: Int64(end.timeIntervalSince1970 * 1e9),
                matchedBy: "request"))
        }
        let evidence = LatencyEvidence(samples: samples)
        let p99 = evidence.p99 ?? .infinity
        let passed = failures == 0 && p99 <= configuration.responseLimitMilliseconds
        var findings: [String] = []
        if failures > 0 { findings.append("\(failures) of \(configuration.samples) reads failed") }
        if samples.isEmpty {
            findings.append("no read succeeded")
        } else if p99 > configuration.responseLimitMilliseconds {
            findings.append(String(format: "p99 %.1f ms is above the limit of %.0f ms", p99, configuration.responseLimitMilliseconds))
        }
        return result(
            id: "response-time", title: "Response time", passed: passed,
            summary: String(format: "p50 %.2f ms, p95 %.2f ms, p99 %.2f ms over %d reads", evidence.p50 ?? 0, evidence.p95 ?? 0, evidence.p99 ?? 0, samples.count),
            metrics: ["p50_ms": evidence.p50 ?? 0, "p95_ms": evidence.p95 ?? 0, "p99_ms": evidence.p99 ?? 0, "failures": Double(failures)],
            latency: evidence, findings: findings, started: started)
    }

    private func hex(_ byte: UInt8) -> String { (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true) }

    private func result(id: String, title: String, passed: Bool? = nil, verdict: RunReport.Verdict? = nil, summary: String,
                        metrics: [String: Double] = [:], latency: LatencyEvidence? = nil, findings: [String] = [], started: Date) -> CheckResult {
        CheckResult(
            id: id, title: title, type: "modbus-certify", source: "004_5e9061d643d5fb41.txt L3462-3497", severity: "major",
            verdict: verdict ?? (passed == true ? .pass : .fail), summary: summary, metrics: metrics, latency: latency, findings: findings,
            startedAt: ISO8601DateFormatter().string(from: started), durationMilliseconds: Date().timeIntervalSince(started) * 1000)
    }
}
