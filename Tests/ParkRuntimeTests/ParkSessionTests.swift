import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkModbus
@testable import ParkRuntime
import Testing

/// The session every command runs a park through: it wires bindings to the engine, applies the
/// script at its times, opens and closes endpoints, and stops early when asked.
@Suite struct ParkSessionTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let parkText = """
        park: runtime-test
        seed: 11
        zones: [{id: A, floors: 1}]
        populations:
          - {model: acme-sd100, zone: A, floor: 1, count: 3, id: "smoke-{n}", parameters: {heartbeat_interval: 1m, report_interval: 1s}}
          - {model: acme-em3, zone: A, floor: 1, count: 2, id: "em-{n}"}
          - {model: volt-dts666, zone: A, floor: 1, count: 2, id: "dts-{n}"}
        stimuli:
          - {at: 100ms, device: smoke-1, stimulus: smoke, arguments: {density: 0.45}}
          - {at: 5m, device: smoke-2, stimulus: tamper}
        """

    static func load(seed: UInt64? = nil) throws -> (LoadedParkParts, ModelCatalog) {
        var registry = DeviceKindRegistry()
        for kind in BuiltInKinds.all { try registry.register(kind) }
        let catalog = try ModelCatalog.load(directory: packageRoot.appendingPathComponent("devices").path, kinds: registry)
        let file = try ParkFile.parse(parkText, file: "park.yaml", catalog: catalog, kinds: registry)
        return (LoadedParkParts(file: file, plan: try file.plan(kinds: registry, seed: seed)), catalog)
    }

    struct LoadedParkParts {
        var file: ParkFile
        var plan: [PlannedDevice]
    }

    /// One seed gives one ledger, and the script's stimuli inside the duration are applied.
    @Test func aVirtualRunIsReproducibleAndAppliesTheScript() throws {
        func run(seed: UInt64) throws -> (applied: Int, records: [String]) {
            let (park, _) = try Self.load(seed: seed)
            let ledger = Ledger()
            let applied = try VirtualParkRun.run(
                plan: park.plan, script: park.file.stimuli, for: .seconds(600), ledger: ledger, observer: nil, shouldStop: { false })
            return (applied, try ledger.records().map { "\($0.deviceID) \($0.name) \($0.time.monotonic.nanoseconds)" })
        }
        let first = try run(seed: 3), again = try run(seed: 3), other = try run(seed: 4)
        #expect(first.applied == 2)
        #expect(first.records == again.records)
        #expect(first.records != other.records, "another seed, another run")
        #expect(first.records.contains { $0.hasPrefix("smoke-1 smoke-alarm") })
    }

    /// A run asked to stop applies nothing more and returns.
    @Test func aVirtualRunStopsWhenAsked() throws {
        let (park, _) = try Self.load()
        let applied = try VirtualParkRun.run(
            plan: park.plan, script: park.file.stimuli, for: .seconds(600), ledger: Ledger(), observer: nil, shouldStop: { true })
        #expect(applied == 0)
    }

    /// In real time: the meters answer on Modbus (models with a register map) and DL/T 645
    /// (models with a dlt645: section), the script's first stimulus lands, the later one (5 min)
    /// does not within the run, and after stop the endpoints are closed.
    @Test func aRealTimeSessionOpensItsEndpointsRunsTheScriptAndClosesThem() async throws {
        let (park, catalog) = try Self.load()
        let devices = park.file.boundDevices
        let registry = PolledStateRegistry()
        let modbus = try ModbusDeviceBinding(
            devices: devices, maps: catalog.modbusMaps(for: devices), registry: registry, transport: .tcp(host: "127.0.0.1", firstPort: 0))
        let dlt645 = try DLT645DeviceBinding(devices: devices.filter { catalog.speaksDLT645($0.model) }, registry: registry)
        let session = try await ParkSession(
            plan: park.plan, bindings: ParkSession.Bindings(modbus: modbus, dlt645: dlt645, registry: registry))
        let addresses = try session.openEndpoints()
        #expect(addresses.modbus.map(\.device).sorted() == ["dts-1", "dts-2", "em-1", "em-2"], "both models have a register map")
        #expect(addresses.dlt645.map(\.device).sorted() == ["dts-1", "dts-2"])
        await session.start()
        let applied = await session.run(script: park.file.stimuli, for: .milliseconds(400), shouldStop: { false })
        #expect(applied == 1)
        #expect(try session.ledger.records().contains { $0.deviceID == "smoke-1" && $0.name == "smoke-alarm" })
        #expect(session.truth == nil, "no in-memory index unless asked for: the ledger holds the records")
        await session.stop()
        await session.stop()
        let port = try #require(addresses.modbus.first?.port)
        #expect(!Self.accepts(port: port), "the Modbus endpoint is closed after stop")
    }

    /// A command a binding receives reaches the device through the engine: a Modbus coil write
    /// (coil 0 off is `relay-open` in acme-em3's register map) becomes the device's command record.
    @Test func aCommandOverABindingReachesTheDevice() async throws {
        let (park, catalog) = try Self.load()
        let devices = park.file.boundDevices
        let registry = PolledStateRegistry()
        let modbus = try ModbusDeviceBinding(
            devices: devices, maps: catalog.modbusMaps(for: devices), registry: registry, transport: .tcp(host: "127.0.0.1", firstPort: 0))
        let session = try await ParkSession(
            plan: park.plan, bindings: ParkSession.Bindings(modbus: modbus, registry: registry), indexGroundTruth: true)
        let addresses = try session.openEndpoints()
        await session.start()
        let meter = try #require(addresses.modbus.first { $0.device == "em-2" })
        let master = try ModbusMaster(host: "127.0.0.1", port: meter.port)
        try master.writeCoil(unit: UInt8(meter.unit), address: 0, on: false)
        // The endpoint answers the write at once; the command reaches the device on its loop.
        var records: [LedgerRecord] = []
        for _ in 0 ..< 200 where !records.contains(where: { $0.name == "relay-open" }) {
            try await Task.sleep(nanoseconds: 10_000_000)
            records = try session.ledger.records().filter { $0.deviceID == "em-2" }
        }
        #expect(records.contains { $0.name == "relay-open" }, "\(records.map { "\($0.kind) \($0.name)" })")
        #expect(try !session.ledger.records().contains { $0.deviceID == "em-1" && $0.name == "relay-open" })
        // The session's ground-truth index holds what the ledger holds, as it happened.
        let truth = try #require(session.truth)
        let command = try #require(truth.records { $0.deviceID == "em-2" && $0.name == "relay-open" }.first)
        #expect(truth.records(from: 0).count <= (try session.ledger.records().count))
        #expect(try session.ledger.records().contains { $0.order == command.order && $0.name == "relay-open" })
        await session.stop()
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// Shards, broker addresses and how many workers a run needs.
@Suite struct FleetPlanningTests {
    @Test func shardsAndBrokersAreRead() {
        #expect(ShardSpec(parsing: "2/5")?.description == "2/5")
        for bad in ["5/5", "-1/3", "1", "a/b", "1/0"] { #expect(ShardSpec(parsing: bad) == nil, "\(bad)") }
        let ranges = (0 ..< 3).map { ShardSpec(index: $0, count: 3).range(of: 10) }
        #expect(ranges == [0 ..< 3, 3 ..< 6, 6 ..< 10], "contiguous, no overlap, sizes within one")
        #expect(BrokerAddress(parsing: "mqtt://10.0.0.2:1884") == BrokerAddress(host: "10.0.0.2", port: 1884))
        #expect(BrokerAddress(parsing: "broker")?.port == 1883)
        for bad in ["mqtt://:1883", "h:0", "h:70000", "h:1:2"] { #expect(BrokerAddress(parsing: bad) == nil, "\(bad)") }
    }

    @Test func workerCountFollowsTheRequestAndTheProcessLimit() throws {
        #expect(try ProcessCapacity.workerCount(requested: nil, devices: 100, brokers: 0, virtual: false) == nil)
        #expect(try ProcessCapacity.workerCount(requested: nil, devices: 100, brokers: 1, virtual: false) == nil)
        #expect(try ProcessCapacity.workerCount(requested: nil, devices: 100, brokers: 2, virtual: false) == 2)
        #expect(try ProcessCapacity.workerCount(requested: 4, devices: 100, brokers: 0, virtual: true) == 4)
        #expect(throws: FleetError.self) { try ProcessCapacity.workerCount(requested: 5, devices: 3, brokers: 0, virtual: false) }
        let tooMany = ProcessCapacity.maximumDevicesPerProcess * 2 + 1
        do {
            _ = try ProcessCapacity.workerCount(requested: 1, devices: tooMany, brokers: 1, virtual: false)
            Issue.record("one worker cannot hold \(tooMany) MQTT clients")
        } catch {
            #expect(error.description.hasSuffix("use --workers 3 or more"))
        }
    }

    @Test func workersSummariesAddUpAndTheWorstTimerIsKept() {
        func shard(_ records: Int, p99: Double, connected: Int) -> RunSummary {
            RunSummary(park: "p", devices: 10, seed: 1, mode: "real-time", deviceTime: "1m", wallSeconds: 60, ledgerRecords: records,
                       ledgerFile: nil, emissions: ["smoke-detector/telemetry": records], stimuli: 1, timerLatenessP99Milliseconds: p99,
                       mqtt: MQTTSummary(devices: 10, connected: connected, connectsFailed: 0, published: records, acknowledged: records,
                                         failed: 0, dropped: 0, commands: 0))
        }
        let outcome = FleetCoordinator.Outcome(
            workers: [], summaries: [shard(100, p99: 2, connected: 10), shard(50, p99: 7, connected: 9)],
            partial: [(WorkerProgress(ledgerRecords: 5, connected: 3, published: 5), 10)],
            interrupted: false, allConnectedAfter: 1.23456, wallSeconds: 61.98765, ledgerNotes: [])
        let merged = outcome.mergedSummary(park: "p", devices: 30, seed: 1, mode: "real-time", deviceTime: "1m", ledgerFile: nil, withMQTT: true)
        #expect(merged.ledgerRecords == 155)
        #expect(merged.emissions == ["smoke-detector/telemetry": 150])
        #expect(merged.stimuli == 2)
        #expect(merged.timerLatenessP99Milliseconds == 7)
        #expect(merged.mqtt?.connected == 22 && merged.mqtt?.devices == 30 && merged.mqtt?.published == 155)
        #expect(merged.wallSeconds == 61.988 && merged.allConnectedSeconds == 1.235)
        #expect(merged.interrupted == nil)
    }
}
