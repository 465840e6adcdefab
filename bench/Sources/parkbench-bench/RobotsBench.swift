// `parkbench-bench robots [--robots N] [--seconds S] [--order-every S] [--json]`: a fleet of robots
// on VDA 5050 from one process.
//
// N mobile robots (the mobile-robot plugin as the machine, VDA5050RobotBinding as each robot's
// controller), every robot its own MQTT client of a private mosquitto, sending `state` and
// `visualization` once a second; a fleet controller in the same process (one more client) sends
// every robot an order every --order-every seconds, back and forth between two points 10 m
// apart at 2 m/s, so each robot drives half the time. The figures: the process's CPU per VDA 5050
// message (engine, plugin calls, sessions, JSON, MQTT I/O), its RSS per robot once all are
// connected, and the orders accepted and rejected.
import Foundation
import ParkBindings
import ParkBroker
import ParkCore
import ParkMQTT
import ParkProfiles
import ParkRuntime
import ParkVDA5050
import ParkWire

struct RobotsBenchArguments {
    var robots = 1_000
    var seconds = 30.0
    var orderEvery = 10.0
    var json = false

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() -> String {
                guard let value = iterator.next() else { fail("\(argument) needs a value") }
                return value
            }
            func positive() -> Double { Double(value()).flatMap { $0 > 0 ? $0 : nil } ?? { fail("\(argument) takes a number above 0") }() }
            switch argument {
            case "--robots": robots = Int(value()).flatMap { $0 > 0 ? $0 : nil } ?? { fail("--robots takes a whole number above 0") }()
            case "--seconds": seconds = positive()
            case "--order-every": orderEvery = positive()
            case "--json": json = true
            case "-h", "--help":
                print("""
                    usage: parkbench-bench robots [--robots N] [--seconds S] [--order-every S] [--json]

                    N robots (default 1,000) on VDA 5050, each its own MQTT client of a private mosquitto,
                    state and visualization once a second, a new order for every robot every --order-every
                    seconds (10), for --seconds (30). Prints VDA 5050 messages per CPU-second, RSS per robot
                    and the orders accepted.
                    """)
                exit(0)
            default: fail("unknown argument \(argument)")
            }
        }
    }
}

func runRobotsBench(_ arguments: RobotsBenchArguments) async {
    guard let robotKind = PluginLoader.discover().kinds.first(where: { $0.descriptor.name == "mobile-robot" }) else {
        fail("the mobile-robot plugin is not next to parkbench-bench: `swift build -c release --product ParkPluginMobileRobot`")
    }
    let broker: MosquittoBroker
    do { broker = try MosquittoBroker(options: ["max_connections -1"]) } catch { fail("cannot start mosquitto: \(error)") }
    defer { broker.stop() }
    if !arguments.json {
        print("bench robots: \(arguments.robots) robots on VDA 5050 (mobile-robot plugin), state and visualization at 1 Hz, an order each every \(arguments.orderEvery) s, \(arguments.seconds) s")
    }
    var model = ModelProfile(kind: "mobile-robot", model: "bench-robot", vendor: "Acme", title: "", parameters: [:], file: "bench-robot.yaml")
    model.vda5050 = ModelVDA5050Settings(stateInterval: .seconds(1), visualizationInterval: .seconds(1))
    let before = residentBytes()
    var plan: [PlannedDevice] = []
    for index in 0..<arguments.robots {
        let id = String(format: "R-%05d", index)
        do {
            let parameters = try DeviceParameters(descriptor: robotKind.descriptor, overrides: [
                "max_speed": "2", "start_x": "0", "start_y": String(index * 3), "report_interval": "1s", "heartbeat_interval": "1h",
            ])
            plan.append(PlannedDevice(kind: robotKind, setup: DeviceSetup(id: id, parameters: parameters, random: .forDevice(id, runSeed: 17),
                                                                         placement: Placement(zone: "bench", floor: 1))))
        } catch { fail(error.message) }
    }
    let robots = VDA5050RobotBinding(
        devices: plan.map { BoundDevice(id: $0.id, kind: "mobile-robot", model: "bench-robot", zone: "bench") }, catalog: ModelCatalog([model]),
        configuration: .init(port: broker.port))
    let session: ParkSession
    do {
        var bindings = ParkSession.Bindings()
        bindings.robots = robots
        session = try await ParkSession(plan: plan, bindings: bindings, threads: 1)
        try session.connectMQTT()
    } catch { fail("\(error)") }
    await session.start()
    let deadline = Date().addingTimeInterval(120)
    while robots.figures.connected < arguments.robots {
        guard Date() < deadline else { fail("only \(robots.figures.connected) of \(arguments.robots) robots connected in 120 s") }
        try? await Task.sleep(nanoseconds: 100_000_000)
    }
    let connected = residentBytes()

    // The fleet controller: one client publishing every robot's orders.
    let fleet: MQTTClientPool
    let controller: MQTTClientHandle
    do {
        fleet = try MQTTClientPool()
        controller = try fleet.addClient(MQTTClientConfiguration(clientID: "bench-fleet", port: broker.port))
    } catch { fail("the fleet controller: \(error)") }
    defer { fleet.shutdown() }
    try? await Task.sleep(nanoseconds: 500_000_000)
    var counter = VDA5050HeaderCounter()
    func order(_ index: Int, _ round: Int) -> (String, [UInt8]) {
        let id = String(format: "R-%05d", index)
        let y = Double(index * 3)
        let here = round % 2 == 0 ? ("A", 0.0) : ("B", 10.0), there = round % 2 == 0 ? ("B", 10.0) : ("A", 0.0)
        let header = counter.header(.order, manufacturer: "Acme", serialNumber: id, nanosecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1e9))
        let message = VDA5050Order(header: header, orderId: "o-\(index)-\(round)", orderUpdateId: 0, nodes: [
            VDA5050Node(nodeId: here.0, sequenceId: 0, nodePosition: VDA5050NodePosition(x: here.1, y: y, mapId: "bench")),
            VDA5050Node(nodeId: there.0, sequenceId: 2, nodePosition: VDA5050NodePosition(x: there.1, y: y, mapId: "bench")),
        ], edges: [VDA5050Edge(edgeId: "\(here.0)-\(there.0)", sequenceId: 1, startNodeId: here.0, endNodeId: there.0, maxSpeed: 2)])
        return (VDA5050.topic(.order, manufacturer: "Acme", serialNumber: id), VDA5050.encode(message))
    }

    let startFigures = robots.figures
    let cpuStart = cpuSeconds()
    let wallStart = SystemClock.monotonicNow()
    var round = 0
    while SystemClock.monotonicNow().duration(since: wallStart).seconds < arguments.seconds {
        let roundStart = SystemClock.monotonicNow()
        for index in 0..<arguments.robots {
            let (topic, payload) = order(index, round)
            try? fleet.publish(controller, topic: topic, payload: payload, qos: .atMostOnce)
        }
        round += 1
        while SystemClock.monotonicNow().duration(since: roundStart).seconds < arguments.orderEvery,
              SystemClock.monotonicNow().duration(since: wallStart).seconds < arguments.seconds {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }
    let cpu = cpuSeconds() - cpuStart
    let wall = SystemClock.monotonicNow().duration(since: wallStart).seconds
    let end = robots.figures
    await session.stop()
    let messages = Double(end.states - startFigures.states + end.visualizations - startFigures.visualizations)
    let figures: [String: Double] = [
        "robots": Double(arguments.robots), "seconds": wall, "cpu_seconds": cpu, "messages": messages,
        "messages_per_cpu_second": messages / cpu, "cpu_percent": cpu / wall * 100, "messages_per_second": messages / wall,
        "bytes_per_robot": Double(connected - before) / Double(arguments.robots),
        "orders": Double(end.orders - startFigures.orders), "orders_rejected": Double(end.ordersRejected - startFigures.ordersRejected),
        "commands_refused": Double(end.commandsRefused - startFigures.commandsRefused),
    ]
    if arguments.json {
        let data = try! JSONSerialization.data(withJSONObject: figures, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    print(String(format: "robots    %.0f VDA 5050 messages/CPU-s (%.1f µs each, machine and wire included), %.0f messages/s, %.1f %% of a core",
                 figures["messages_per_cpu_second"]!, 1e6 / figures["messages_per_cpu_second"]!, figures["messages_per_second"]!, figures["cpu_percent"]!))
    print(String(format: "          %.0f B RSS per robot; %.0f orders taken, %.0f rejected, %.0f machine commands refused",
                 figures["bytes_per_robot"]!, figures["orders"]!, figures["orders_rejected"]!, figures["commands_refused"]!))
}
