// `parkbench-bench rush [--terminals N] [--lanes N] [--rate EVENTS/S] [--seconds S] [--json]`: a
// morning rush through the plugin boundary and onto the wire.
//
// 2,000 access terminals (the access-terminal plugin: a `present` in, a `granted` out) and 400
// lane cameras (the lpr-camera plugin: a `vehicle` in, a `plate` out), every device its own MQTT
// client on a private mosquitto, the harness presenting people and cars at --rate events a second
// for --seconds. Then the same number of devices as the built-in twin of the plate camera (see
// PluginBench.swift) at the same rate. Each run in a child process of its own: the figures are
// that process's CPU per event (engine, plugin calls, ledger, MQTT client I/O) and its RSS per
// device once every client is connected.
import Foundation
import ParkBindings
import ParkBroker
import ParkCore
import ParkProfiles
import ParkRuntime
import ParkWire

#if canImport(Glibc)
import Glibc
#endif

struct RushBenchArguments {
    var terminals = 2_000
    var lanes = 400
    var rate = 2_400
    var seconds = 20.0
    var variant: String?
    var json = false

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() -> String {
                guard let value = iterator.next() else { fail("\(argument) needs a value") }
                return value
            }
            func whole() -> Int { Int(value()).flatMap { $0 > 0 ? $0 : nil } ?? { fail("\(argument) takes a whole number above 0") }() }
            switch argument {
            case "--terminals": terminals = whole()
            case "--lanes": lanes = whole()
            case "--rate": rate = whole()
            case "--seconds": seconds = Double(value()).flatMap { $0 > 0 ? $0 : nil } ?? { fail("--seconds takes a number above 0") }()
            case "--variant": variant = value()
            case "--json": json = true
            case "-h", "--help":
                print("""
                    usage: parkbench-bench rush [--terminals N] [--lanes N] [--rate EVENTS/S] [--seconds S] [--json]

                    A morning rush: N access terminals (default 2,000) and N lane cameras (400), plugin kinds,
                    each an MQTT client of a private mosquitto, people and cars presented at --rate events a
                    second (2,400) for --seconds (20); then as many built-in plate cameras at the same rate.
                    Prints events per CPU-second and RSS per device for each.
                    """)
                exit(0)
            default: fail("unknown argument \(argument)")
            }
        }
    }
}

func runRushBench(_ arguments: RushBenchArguments) async {
    if let variant = arguments.variant {
        let figures = await rushVariant(variant, arguments)
        let data = try! JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    let devices = arguments.terminals + arguments.lanes
    if !arguments.json {
        print("bench rush: \(arguments.terminals) access terminals + \(arguments.lanes) lane cameras (plugins) on MQTT, \(arguments.rate) events/s for \(arguments.seconds) s; then \(devices) built-in plate cameras at the same rate")
    }
    var results: [String: [String: Double]] = [:]
    for variant in ["plugin", "builtin"] {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["rush", "--variant", variant, "--terminals", String(arguments.terminals), "--lanes", String(arguments.lanes),
                             "--rate", String(arguments.rate), "--seconds", String(arguments.seconds)]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { fail("cannot run \(executable): \(error)") }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let figures = try? JSONSerialization.jsonObject(with: output) as? [String: Double] else {
            fail("the \(variant) run failed (exit \(process.terminationStatus)): \(String(decoding: output, as: UTF8.self))")
        }
        results[variant] = figures
    }
    if arguments.json {
        let data = try! JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    for (name, key) in [("plugins", "plugin"), ("built-in", "builtin")] {
        let figures = results[key]!
        print(String(format: "%-9@ %7.0f events/CPU-s (%.1f µs each, wire included), %.0f of %.0f published, %.1f %% of a core at %.0f events/s, %6.0f B RSS per device",
                     name as NSString, figures["events_per_cpu_second"]!, 1e6 / figures["events_per_cpu_second"]!, figures["published"]!,
                     figures["presented"]!, figures["cpu_percent"]!, figures["events_per_second"]!, figures["bytes_per_device"]!))
    }
}

/// One variant in this process: mosquitto, the devices on MQTT, the rush, the figures.
func rushVariant(_ variant: String, _ arguments: RushBenchArguments) async -> [String: Double] {
    let discovery = PluginLoader.discover()
    func plugin(_ name: String) -> PluginDeviceKind {
        guard let kind = discovery.kinds.first(where: { $0.descriptor.name == name }) else {
            fail("the \(name) plugin is not next to parkbench-bench: `swift build -c release` builds every plugin")
        }
        return kind
    }
    let camera = plugin("lpr-camera")
    let terminal = plugin("access-terminal")
    let broker: MosquittoBroker
    do { broker = try MosquittoBroker(options: ["max_connections -1"]) } catch { fail("cannot start mosquitto: \(error)") }
    defer { broker.stop() }

    let total = arguments.terminals + arguments.lanes
    func setup(_ kind: any DeviceKind, _ id: String, _ overrides: [String: String]) -> PlannedDevice {
        do {
            let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides.merging(["heartbeat_interval": "1h"]) { $1 })
            return PlannedDevice(kind: kind, setup: DeviceSetup(id: id, parameters: parameters, random: .forDevice(id, runSeed: 13), placement: Placement(zone: "A", floor: 1)))
        } catch { fail(error.message) }
    }
    let before = residentBytes()
    var plan: [PlannedDevice] = []
    var stimuli: [(id: String, stimulus: Stimulus)] = []
    switch variant {
    case "plugin":
        for index in 0..<arguments.terminals {
            let id = String(format: "access-%05d", index)
            plan.append(setup(terminal, id, [:]))
            stimuli.append((id, Stimulus("present", arguments: ["person": .string("resident-\(index)"), "method": .string("card")])))
        }
        for index in 0..<arguments.lanes {
            let id = String(format: "lpr-%05d", index)
            plan.append(setup(camera, id, ["recognition_time": "200ms", "recognition_jitter": "60ms"]))
            stimuli.append((id, Stimulus("vehicle", arguments: ["plate": .string(String(format: "京A%05d", index))])))
        }
    case "builtin":
        let twin = BuiltInPlateCameraKind(descriptor: camera.descriptor)
        for index in 0..<total {
            let id = String(format: "lpr-%05d", index)
            plan.append(setup(twin, id, ["recognition_time": "200ms", "recognition_jitter": "60ms"]))
            stimuli.append((id, Stimulus("vehicle", arguments: ["plate": .string(String(format: "京A%05d", index))])))
        }
    default: fail("--variant is plugin or builtin")
    }
    let bound = plan.map { BoundDevice(id: $0.id, kind: $0.kind.descriptor.name, model: "", zone: "A") }
    let session: ParkSession
    do {
        let binding = try MQTTDeviceBinding(devices: bound, configuration: .init(port: broker.port))
        session = try await ParkSession(plan: plan, bindings: .init(mqtt: binding), threads: 1)
        try session.connectMQTT()
        let deadline = Date().addingTimeInterval(120)
        while binding.statistics.pool.connectedClients < total {
            guard Date() < deadline else { fail("only \(binding.statistics.pool.connectedClients) of \(total) clients connected in 120 s") }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    } catch { fail("\(error)") }
    await session.start()
    let connected = residentBytes()
    let publishedBefore = session.bindings.mqtt?.statistics.pool.messagesPublished ?? 0

    // Paced in 10 ms slices: each slice presents its share of the rate, round-robin over the devices.
    let cpuStart = cpuSeconds()
    let wallStart = SystemClock.monotonicNow()
    var presented = 0, next = 0
    while true {
        let elapsed = SystemClock.monotonicNow().duration(since: wallStart).seconds
        if elapsed >= arguments.seconds { break }
        let due = Int(elapsed * Double(arguments.rate))
        while presented < due {
            let (id, stimulus) = stimuli[next]
            next = (next + 1) % stimuli.count
            _ = try? await session.engine.apply(stimulus, to: id)
            presented += 1
        }
        try? await Task.sleep(nanoseconds: 10_000_000)
    }
    // The last reads complete within the recognition time; then the clients drain.
    try? await Task.sleep(nanoseconds: 1_000_000_000)
    session.ledger.flushSpill()
    let cpu = cpuSeconds() - cpuStart
    let wall = SystemClock.monotonicNow().duration(since: wallStart).seconds
    let published = (session.bindings.mqtt?.statistics.pool.messagesPublished ?? 0) - publishedBefore
    await session.stop()
    return [
        "presented": Double(presented), "published": Double(published), "cpu_seconds": cpu,
        "events_per_cpu_second": Double(published) / cpu, "cpu_percent": cpu / wall * 100,
        "events_per_second": Double(published) / wall, "bytes_per_device": Double(connected - before) / Double(total),
    ]
}
