import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkModbus
import ParkPlatform
import ParkProfiles
import ParkTestSupport
import ParkWire
import Testing

/// The reference gateway polls simulated meters over Modbus TCP and publishes their readings on
/// MQTT; paho-mqtt is the witness. A meter that stops answering is reported offline.
@Suite struct MeterGatewayTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// acme-em3 meters of zone M running on a real-time engine and answering on one Modbus TCP
    /// endpoint, as units 1, 2, … — what the gateway tests poll.
    struct ServedMeters {
        let map: ModelModbusMap
        let port: Int
        let engine: RealTimeEngine
        let modbus: ModbusDeviceBinding
    }

    /// - Parameter em1Kilowatts: a load `em-1` is held at, when given.
    static func serveMeters(_ ids: [String], overrides: [String: String] = [:], em1Kilowatts: Double? = nil) async throws -> ServedMeters {
        let profile = try ModelProfile.load(file: packageRoot.appendingPathComponent("devices/electric-meter/acme-em3.yaml").path)
        let map = try #require(profile.modbus)
        let kind = ElectricMeterKind()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides)
        let registry = PolledStateRegistry()
        let plan = ids.map { id in
            PlannedDevice(kind: kind, setup: DeviceSetup(id: id, parameters: parameters, random: .forDevice(id, runSeed: 9),
                                                         placement: Placement(zone: "M"), polled: registry))
        }
        let engine = try await RealTimeEngine(plan: plan, ledger: Ledger(), observer: MulticastEmissionObserver([]))
        await engine.start()
        if let em1Kilowatts { try await engine.apply(Stimulus("load-set", arguments: ["kw": .double(em1Kilowatts)]), to: "em-1") }
        let modbus = try ModbusDeviceBinding(
            devices: ids.map { BoundDevice(id: $0, kind: "electric-meter", model: "acme-em3", zone: "M") }, maps: ["acme-em3": map],
            registry: registry)
        let port = try #require(try modbus.start().first?.port)
        return ServedMeters(map: map, port: port, engine: engine, modbus: modbus)
    }

    @Test func pollsMetersPublishesReadingsAndReportsOffline() async throws {
        let served = try await Self.serveMeters(["em-1", "em-2"], overrides: ["load_interval": "1s"], em1Kilowatts: 36)
        let (map, port, engine, modbus) = (served.map, served.port, served.engine, served.modbus)

        let broker = try MosquittoBroker()
        let directory = try TemporaryDirectory()
        let collector = try MQTTDeviceBindingTests.Collector(directory, port: broker.port)
        let meters = [
            MeterGateway.Meter(id: "em-1", kind: "electric-meter", zone: "M", host: "127.0.0.1", port: port, unit: 1, map: map),
            MeterGateway.Meter(id: "ghost", kind: "electric-meter", zone: "M", host: "127.0.0.1", port: port, unit: 9, map: map),
        ]
        var configuration = MeterGateway.Configuration(name: "gw-1", period: .milliseconds(300), brokerHost: "127.0.0.1", brokerPort: broker.port)
        configuration.offlineAfter = 2
        let gateway = try MeterGateway(meters: meters, configuration: configuration)
        gateway.start()

        func telemetry(_ id: String) -> [[String: Any]] {
            collector.seen.filter { $0.topic == "park/M/electric-meter/\(id)/telemetry" }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any]
            }
        }
        func status(_ id: String) -> [String] {
            collector.seen.filter { $0.topic == "park/M/electric-meter/\(id)/status" }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any])?["status"] as? String
            }
        }
        try waitFor("three readings of em-1 and the ghost reported offline", seconds: 30) {
            telemetry("em-1").count >= 3 && status("ghost").contains("offline")
        }
        let readings = telemetry("em-1")
        #expect(readings.map { $0["seq"] as? Int } == Array(1 ... readings.count).map { Optional($0) }, "one message per poll, in order")
        let values = try #require(readings.last?["values"] as? [String: Double])
        // Held at 36 kW; the meter's class 0.5 allows ±0.25 %, the gateway adds nothing.
        #expect(abs((values["active_power"] ?? 0) - 36) <= 0.09 + 1e-6, "\(values)")
        #expect(Set(values.keys) == Set(map.registers.map(\.point)), "every register of the map, once")
        #expect(readings.last?["gateway"] as? String == "gw-1")
        #expect(status("em-1") == ["online"])
        #expect(telemetry("ghost").isEmpty)

        // The meters vanish: em-1 goes offline within offlineAfter polls.
        modbus.stop()
        try waitFor("em-1 reported offline", seconds: 30) { status("em-1").last == "offline" }
        gateway.stop()
        let statistics = gateway.statistics
        #expect(statistics.failedPolls >= 4 && statistics.published >= 3)
        #expect(Set(statistics.offlineMeters) == ["ghost", "em-1"])
        collector.stop()
        await engine.stop()
    }

    /// The gateway's time rules on a manual clock: a round at start, the next one when the clock
    /// has moved a whole period (3 s, not a moment before), readings stamped with the clock, and
    /// a meter offline after its third missed round — nine seconds of gateway time in
    /// milliseconds of test time. Only the Modbus and MQTT traffic is real.
    /// Store and forward through an uplink that is down and a power loss: the gateway reads its
    /// meters with no broker to reach, its readings pile up on disk (2,500: more than the MQTT
    /// client's 1,000 in memory; 10,000 took 5.8 s here, too long for every `make test` — the
    /// spool's own test keeps 12,000 through a killed process), it loses
    /// power (stopped with nothing flushed or sent), and a new gateway on the same spool sends
    /// every one of them once the broker is back — in order per meter, with the times they were
    /// read; paho, subscribed to the broker, is the witness. The same without a spool
    /// (`spoolDropped`) keeps at most the MQTT client's 1,000 in memory and loses them with the power.
    @Test func aSpooledGatewayLosesNoReadingThroughAnOutageAndAPowerLoss() async throws {
        let served = try await Self.serveMeters(["em-1", "em-2"])
        // Room for the whole backlog in the witness's queue: mosquitto's default (1,000 messages
        // queued per client) would drop what a slower subscriber has not taken yet.
        let broker = try MosquittoBroker(options: ["max_queued_messages 100000"], start: false)
        let directory = try TemporaryDirectory()
        let meters = ["em-1", "em-2"].enumerated().map { index, id in
            MeterGateway.Meter(id: id, kind: "electric-meter", zone: "M", host: "127.0.0.1", port: served.port, unit: UInt8(index + 1), map: served.map)
        }
        func gateway(spooled: Bool, poll: Bool) throws -> MeterGateway {
            // Rounds back to back: the readings pile up as fast as the meters answer.
            var configuration = MeterGateway.Configuration(name: "gw-spool", period: .microseconds(1), brokerHost: "127.0.0.1", brokerPort: broker.port)
            configuration.spool = GatewaySpoolSettings(directory: directory.path("spool"), capacity: 50_000)
            configuration.faults.spoolDropped = !spooled
            let gateway = try MeterGateway(meters: meters, configuration: configuration)
            if poll { gateway.start() }
            return gateway
        }
        func readingsPiledUp(_ gateway: MeterGateway, to count: Int) async throws -> Int {
            let deadline = ContinuousClock.now + .seconds(30)
            while gateway.statistics.published < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            gateway.stop()
            return gateway.statistics.published
        }

        // The outage: no broker. Then the power goes (stop: nothing more is read, nothing is sent).
        let first = try gateway(spooled: true, poll: true)
        let outage = ContinuousClock.now
        let read = try await readingsPiledUp(first, to: 2_500)
        print("spool: \(read) readings piled up in \(ContinuousClock.now - outage)")
        #expect(read >= 2_500 && first.statistics.spooled == read, "every reading waits on disk: \(first.statistics)")
        let lostPower = ContinuousClock.now

        try broker.start()
        let collector = try MQTTDeviceBindingTests.Collector(directory, port: broker.port, filter: "park/M/electric-meter/+/telemetry")
        let second = try gateway(spooled: true, poll: false)
        #expect(second.statistics.spoolRecovered == read)
        let deadline = ContinuousClock.now + .seconds(30)
        while second.statistics.spooled > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(second.statistics.spooled == 0 && second.statistics.delivered == read, "\(second.statistics)")
        let sent = ContinuousClock.now - lostPower
        // paho writes each message down as it comes: wait until it has caught up.
        var readings: [[String: Any]] = []
        let caughtUp = ContinuousClock.now + .seconds(20)
        repeat {
            readings = collector.seen.compactMap { try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any] }
            if readings.count >= read { break }
            try await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < caughtUp
        collector.stop()
        second.stop()
        let ids = Set(readings.compactMap { $0["msg_id"] as? String })
        #expect(ids.count == read, "paho saw every reading the first gateway made: \(ids.count) of \(read)")
        for meter in ["em-1", "em-2"] {
            let mine = readings.filter { $0["device"] as? String == meter }
            let sequences = mine.compactMap { $0["seq"] as? Int }
            let inOrder = sequences == Array(1...max(1, sequences.count))
            #expect(inOrder, "\(meter): \(sequences.count) readings, in order, none missing, none twice (first wrong at \(zip(sequences, 1...).first { $0 != $1 }.map { "\($0)" } ?? "-"))")
            let times = mine.compactMap { ($0["ts_ns"] as? NSNumber)?.int64Value }
            #expect(times == times.sorted(), "\(meter): the times they were read")
        }
        print("spool: \(read) readings through an outage and a power loss, all acknowledged \(sent) after the power came back")

        // With the spool switched off (the fault) nothing goes to the disk: a power loss takes all.
        broker.stop()
        let unspooled = try gateway(spooled: false, poll: true)
        _ = try await readingsPiledUp(unspooled, to: 300)
        #expect(unspooled.statistics.spooled == 0)
        let afterwards = try gateway(spooled: true, poll: false)
        #expect(afterwards.statistics.spoolRecovered == 0, "nothing of the \(unspooled.statistics.published) readings was kept")
        afterwards.stop()
    }

    @Test func pollsOnItsClocksPeriodAndReportsOfflineAfterThreeRounds() async throws {
        let served = try await Self.serveMeters(["em-1"])
        let (map, port, engine, modbus) = (served.map, served.port, served.engine, served.modbus)
        let broker = try MosquittoBroker()
        let directory = try TemporaryDirectory()
        let collector = try MQTTDeviceBindingTests.Collector(directory, port: broker.port)
        let meters = [
            MeterGateway.Meter(id: "em-1", kind: "electric-meter", zone: "M", host: "127.0.0.1", port: port, unit: 1, map: map),
            MeterGateway.Meter(id: "ghost", kind: "electric-meter", zone: "M", host: "127.0.0.1", port: port, unit: 9, map: map),
        ]
        let clock = ManualPlatformClock()
        let start = clock.now()
        let configuration = MeterGateway.Configuration(name: "gw-v", period: .seconds(3), brokerHost: "127.0.0.1", brokerPort: broker.port)
        #expect(configuration.offlineAfter == 3)
        let gateway = try MeterGateway(meters: meters, configuration: configuration, clock: clock)
        gateway.start()
        func stamps(_ id: String) -> [Int64] {
            collector.seen.filter { $0.topic == "park/M/electric-meter/\(id)/telemetry" }.compactMap {
                ((try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any])?["ts_ns"] as? NSNumber)?.int64Value
            }
        }
        func status(_ id: String) -> [String] {
            collector.seen.filter { $0.topic == "park/M/electric-meter/\(id)/status" }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any])?["status"] as? String
            }
        }

        try waitFor("the first round", seconds: 30) { gateway.statistics.rounds == 1 }
        clock.advance(by: .milliseconds(2_999))
        clock.advance(by: .milliseconds(1))
        try waitFor("the second round, once the clock has moved 3 s", seconds: 30) { gateway.statistics.rounds == 2 }
        #expect(gateway.statistics.offlineMeters.isEmpty, "two missed rounds are not yet three")
        clock.advance(by: .seconds(3))
        try waitFor("the third round", seconds: 30) { gateway.statistics.rounds == 3 }
        #expect(gateway.statistics.offlineMeters == ["ghost"])
        try waitFor("em-1's three readings and the ghost offline at the broker", seconds: 30) {
            stamps("em-1").count == 3 && status("ghost") == ["offline"]
        }
        let second: Int64 = 1_000_000_000
        #expect(stamps("em-1") == [0, 3, 6].map { Int64(start) + $0 * second }, "each reading stamped at its round's instant")
        #expect(gateway.statistics.polls == 6 && gateway.statistics.failedPolls == 3)
        gateway.stop()
        collector.stop()
        modbus.stop()
        await engine.stop()
    }

    /// Each of the gateway's fault switches breaks what its check watches, on the gateway's own
    /// clock (three 1 s rounds in milliseconds): word swap garbles a 36 kW reading, slow poll
    /// takes 3 s a round, the meter limit reads only the first meter, dropped offline reports
    /// leave a silent meter unreported — each beside a healthy gateway on the same meters.
    @Test func eachFaultSwitchBreaksWhatItShouldOnTheGatewaysClock() async throws {
        let served = try await Self.serveMeters(["em-1", "em-2"], overrides: ["load_interval": "1s"], em1Kilowatts: 36)
        let (map, port, engine, modbus) = (served.map, served.port, served.engine, served.modbus)
        let broker = try MosquittoBroker()
        let directory = try TemporaryDirectory()
        let collector = try MQTTDeviceBindingTests.Collector(directory, port: broker.port)
        let meters = ["em-1": UInt8(1), "em-2": 2, "ghost": 9].sorted { $0.key < $1.key }.map { id, unit in
            MeterGateway.Meter(id: id, kind: "electric-meter", zone: "M", host: "127.0.0.1", port: port, unit: unit, map: map)
        }
        let cases: [(name: String, faults: MeterGatewayFaults)] = [
            ("healthy", MeterGatewayFaults()), ("word-swap", MeterGatewayFaults(wordSwap: true)),
            ("slow-poll", MeterGatewayFaults(period: .seconds(3))), ("meter-limit", MeterGatewayFaults(meterLimit: 1)),
            ("no-offline", MeterGatewayFaults(offlineReportsDropped: true)),
        ]
        var gateways: [String: (gateway: MeterGateway, clock: ManualPlatformClock)] = [:]
        for (name, faults) in cases {
            var configuration = MeterGateway.Configuration(name: name, period: .seconds(1), brokerHost: "127.0.0.1", brokerPort: broker.port)
            configuration.faults = faults
            let clock = ManualPlatformClock()
            let gateway = try MeterGateway(meters: meters, configuration: configuration, clock: clock)
            gateway.start()
            gateways[name] = (gateway, clock)
        }
        // Rounds at t = 0, 1, 2 s of each gateway's clock (the slow one: only t = 0).
        for second in 1 ... 2 {
            for (name, entry) in gateways {
                try waitFor("\(name): round \(second)", seconds: 30) { entry.gateway.statistics.rounds >= (name == "slow-poll" ? 1 : second) }
                entry.clock.advance(by: .seconds(1))
            }
        }
        for (name, entry) in gateways {
            try waitFor("\(name): its rounds", seconds: 30) { entry.gateway.statistics.rounds == (name == "slow-poll" ? 1 : 3) }
        }
        func statistics(_ name: String) -> MeterGateway.Statistics { gateways[name]!.gateway.statistics }
        try waitFor("every published reading at paho", seconds: 30) {
            collector.seen.filter { $0.topic.hasSuffix("/telemetry") }.count >= gateways.values.map { $0.gateway.statistics.published }.reduce(0, +)
        }
        func power(_ gateway: String) -> [Double] {
            collector.seen.filter { $0.topic == "park/M/electric-meter/em-1/telemetry" }.compactMap(\.json)
                .filter { $0["gateway"] as? String == gateway }.compactMap { ($0["values"] as? [String: Any])?["active_power"] as? Double }
        }
        #expect(power("healthy").count == 3 && power("healthy").allSatisfy { abs($0 - 36) < 0.1 }, "\(power("healthy"))")
        #expect(statistics("healthy").offlineMeters == ["ghost"], "three missed rounds")
        #expect(!power("word-swap").isEmpty && power("word-swap").allSatisfy { abs($0 - 36) > 1 }, "\(power("word-swap"))")
        #expect(statistics("slow-poll").rounds == 1 && statistics("slow-poll").polls == 3, "one round in the 2 s a healthy gateway did three")
        #expect(statistics("meter-limit").polls == 3, "only em-1, three times: \(statistics("meter-limit"))")
        #expect(statistics("no-offline").failedPolls == 3 && statistics("no-offline").offlineMeters.isEmpty)
        let ghostStatuses = collector.seen.filter { $0.topic == "park/M/electric-meter/ghost/status" }.compactMap(\.json)
        #expect(!ghostStatuses.contains { $0["gateway"] as? String == "no-offline" }, "no offline report from the blinded gateway")
        for entry in gateways.values { entry.gateway.stop() }
        collector.stop()
        modbus.stop()
        await engine.stop()
    }

    /// The same over Modbus RTU: meters as slaves on one pty bus, the gateway as the bus master.
    @Test func pollsMetersOnAnRTUBus() async throws {
        let profile = try ModelProfile.load(file: Self.packageRoot.appendingPathComponent("devices/water-meter/hydro-lxsy50.yaml").path)
        let map = try #require(profile.modbus)
        let kind = WaterMeterKind()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: [:])
        let registry = PolledStateRegistry()
        let plan = ["wm-1", "wm-2"].map { id in
            PlannedDevice(kind: kind, setup: DeviceSetup(id: id, parameters: parameters, random: .forDevice(id, runSeed: 5),
                                                         placement: Placement(zone: "M"), polled: registry))
        }
        let engine = try await RealTimeEngine(plan: plan, ledger: Ledger(), observer: MulticastEmissionObserver([]))
        await engine.start()
        try await engine.apply(Stimulus("flow-set", arguments: ["m3h": .double(2.5)]), to: "wm-2")
        let devices = plan.map { BoundDevice(id: $0.id, kind: "water-meter", model: "hydro-lxsy50", zone: "M") }
        let modbus = try ModbusDeviceBinding(devices: devices, maps: ["hydro-lxsy50": map], registry: registry,
                                             transport: .rtu(baudRate: 9600, parity: "N"))
        let addresses = try modbus.start()
        defer { modbus.stop() }
        let bus = try #require(addresses.first?.path)

        let broker = try MosquittoBroker()
        let directory = try TemporaryDirectory()
        let collector = try MQTTDeviceBindingTests.Collector(directory, port: broker.port)
        let meters = addresses.map { address in
            MeterGateway.Meter(id: address.device, kind: "water-meter", zone: "M", serialDevice: bus, unit: address.unit, map: map)
        } + [MeterGateway.Meter(id: "ghost", kind: "water-meter", zone: "M", serialDevice: bus, unit: 9, map: map)]
        var configuration = MeterGateway.Configuration(name: "gw-rtu", period: .milliseconds(300), brokerHost: "127.0.0.1", brokerPort: broker.port)
        configuration.offlineAfter = 2
        configuration.timeoutMicroseconds = 200_000
        let gateway = try MeterGateway(meters: meters, configuration: configuration)
        gateway.start()
        defer { gateway.stop() }

        func messages(_ id: String, _ channel: String) -> [[String: Any]] {
            collector.seen.filter { $0.topic == "park/M/water-meter/\(id)/\(channel)" }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any]
            }
        }
        try waitFor("readings of both meters over RTU and the absent slave offline", seconds: 30) {
            messages("wm-1", "telemetry").count >= 2 && messages("wm-2", "telemetry").count >= 2
                && messages("ghost", "status").contains { $0["status"] as? String == "offline" }
        }
        let values = try #require(messages("wm-2", "telemetry").last?["values"] as? [String: Double])
        // Held at 2.5 m³/h; the meter's class 2 allows ±1 %, its register 0.001 m³/h.
        #expect(abs((values["flow"] ?? 0) - 2.5) <= 0.025 + 0.001, "\(values)")
        #expect(Set(values.keys) == Set(map.registers.map(\.point)))
        collector.stop()
        await engine.stop()
    }
}
