import Foundation
import ParkCore
import ParkModbus
import ParkMQTT
import Synchronization

/// The reference platform's meter-reading gateway (智能网关, 004 L3499–3513): it polls meters
/// over Modbus TCP on a configurable period (L3511) through their model's register map and
/// publishes each reading northbound over MQTT as the meter's telemetry, on the meter's own
/// topics, through one gateway connection. A meter that misses `offlineAfter` polls in a row is
/// reported offline (its retained status), and online again at its next answer (L3509).
///
/// One thread polls every meter in turn, synchronously, as a gateway's RS-485 master does.
public final class MeterGateway: @unchecked Sendable {
    /// One meter behind the gateway.
    public struct Meter: Sendable {
        public var id: String
        public var kind: String
        public var zone: String?
        public var host: String
        public var port: Int
        public var unit: UInt8
        public var map: ModelModbusMap

        public init(id: String, kind: String, zone: String?, host: String, port: Int, unit: UInt8, map: ModelModbusMap) {
            self.id = id
            self.kind = kind
            self.zone = zone
            self.host = host
            self.port = port
            self.unit = unit
            self.map = map
        }
    }

    public struct Configuration: Sendable {
        public var name: String
        public var period: Duration
        public var brokerHost: String
        public var brokerPort: Int
        /// Consecutive failed polls before a meter is reported offline.
        public var offlineAfter = 3
        public var timeoutMicroseconds = 500_000

        public init(name: String, period: Duration, brokerHost: String, brokerPort: Int) {
            self.name = name
            self.period = period
            self.brokerHost = brokerHost
            self.brokerPort = brokerPort
        }
    }

    /// Counters since start.
    public struct Statistics: Sendable, Hashable {
        public var polls = 0
        public var failedPolls = 0
        public var published = 0
        public var offlineMeters: [String] = []
    }

    public let configuration: Configuration
    private let meters: [Meter]
    private let pool: MQTTClientPool
    private let client: MQTTClientHandle
    private let counters = Mutex(Statistics())
    private let stopping = Atomic<Bool>(false)
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Made once: a formatter is costly to build, and every reading carries a timestamp.
    private let timestamps: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    public init(meters: [Meter], configuration: Configuration) throws(MQTTError) {
        self.meters = meters
        self.configuration = configuration
        pool = try MQTTClientPool()
        var client = MQTTClientConfiguration(clientID: "gateway-\(configuration.name)", host: configuration.brokerHost, port: configuration.brokerPort)
        client.tcpNoDelay = true
        self.client = try pool.addClient(client)
    }

    public var statistics: Statistics { counters.withLock { $0 } }

    public func start() {
        let thread = Thread { [self] in
            poll()
            finished.signal()
        }
        thread.name = "meter-gateway"
        self.thread = thread
        thread.start()
    }

    /// Stops polling (after the current round) and disconnects.
    public func stop() {
        guard thread != nil, !stopping.exchange(true, ordering: .relaxed) else { return }
        finished.wait()
        pool.shutdown()
    }

    private func poll() {
        var connections: [String: ModbusMaster] = [:]
        var failures: [String: Int] = [:]
        var online: Set<String> = []
        var sequence: [String: Int] = [:]
        let period = Double(configuration.period.components.seconds) + Double(configuration.period.components.attoseconds) / 1e18
        var next = Date()
        while !stopping.load(ordering: .relaxed) {
            for meter in meters {
                if stopping.load(ordering: .relaxed) { break }
                let key = "\(meter.host):\(meter.port)"
                counters.withLock { $0.polls += 1 }
                let polledAt = Date()
                var values: [(String, Double)] = []
                do throws(ModbusClientError) {
                    if connections[key] == nil {
                        connections[key] = try ModbusMaster(host: meter.host, port: meter.port, timeoutMicroseconds: configuration.timeoutMicroseconds)
                    }
                    let client = connections[key]!
                    for register in meter.map.registers {
                        guard let format = ModbusValueFormat(typeName: register.type, orderName: register.order, scale: register.scale) else { continue }
                        let words = try client.readRegisters(inputTable: register.table == "input", unit: meter.unit,
                                                             address: register.address, count: register.width)
                        if let value = format.decode(words) {
                            values.append((register.point, value))
                        }
                    }
                } catch {
                    if case .transport = error { connections[key] = nil }
                    failures[meter.id, default: 0] += 1
                    counters.withLock { $0.failedPolls += 1 }
                    if failures[meter.id] == configuration.offlineAfter {
                        online.remove(meter.id)
                        publishStatus(meter, online: false)
                        counters.withLock { $0.offlineMeters.append(meter.id) }
                    }
                    continue
                }
                failures[meter.id] = 0
                if !online.contains(meter.id) {
                    online.insert(meter.id)
                    publishStatus(meter, online: true)
                    counters.withLock { $0.offlineMeters.removeAll { $0 == meter.id } }
                }
                sequence[meter.id, default: 0] += 1
                publishReading(meter, values: values, seq: sequence[meter.id]!, at: polledAt)
            }
            next = next.addingTimeInterval(period)
            // Sleep in short steps so stop() is prompt.
            while !stopping.load(ordering: .relaxed), Date() < next { Thread.sleep(forTimeInterval: min(0.05, next.timeIntervalSinceNow)) }
        }
    }

    private func topic(_ meter: Meter, _ channel: String) -> String {
        "park/\(meter.zone ?? "park")/\(meter.kind)/\(meter.id)/\(channel)"
    }

    private func publishReading(_ meter: Meter, values: [(String, Double)], seq: Int, at time: Date) {
        let nanoseconds = Int64(time.timeIntervalSince1970 * 1e9)
        var json = "{\"device\":\(JSONText.quoted(meter.id)),\"kind\":\(JSONText.quoted(meter.kind)),\"seq\":\(seq)"
        json += ",\"msg_id\":\(JSONText.quoted("\(meter.id)#gw\(seq)")),\"ts\":\"\(timestamps.string(from: time))\",\"ts_ns\":\(nanoseconds)"
        json += ",\"channel\":\"telemetry\",\"name\":\"telemetry\",\"gateway\":\(JSONText.quoted(configuration.name)),\"values\":{"
        json += values.map { "\(JSONText.quoted($0.0)):\(JSONText.number($0.1))" }.joined(separator: ",") + "}}"
        do {
            try pool.publish(client, topic: topic(meter, "telemetry"), payload: Array(json.utf8), qos: .atLeastOnce)
            counters.withLock { $0.published += 1 }
        } catch {}
    }

    private func publishStatus(_ meter: Meter, online: Bool) {
        let json = "{\"device\":\(JSONText.quoted(meter.id)),\"kind\":\(JSONText.quoted(meter.kind)),\"status\":\"\(online ? "online" : "offline")\",\"gateway\":\(JSONText.quoted(configuration.name))}"
        try? pool.publish(client, topic: topic(meter, "status"), payload: Array(json.utf8), qos: .atLeastOnce, retain: true)
    }
}
