// `parkbench-bench plugins [--devices N] [--vehicles N] [--json]`: what the plugin boundary costs.
//
// The same work twice: N plate cameras each reading V vehicles (a `vehicle` stimulus in, a timer
// for the recognition time, a `plate` event with five readings out), once as the `lpr-camera`
// plugin (libParkPluginLPRCamera.so: every call crosses the C ABI as JSON text both ways) and
// once as a built-in kind compiled into this binary that does exactly the same (the same
// descriptor, the same draws, the same readings). Both run on one VirtualTimeEngine in a child
// process of their own (so one's freed memory does not flatter the other's RSS), ledger only:
// the wire costs the same for both and is measured by the mqtt and load benchmarks.
//
// Prints events per CPU-second and bytes per device for each, and the plugin's cost per event.
import Foundation
import ParkCore
import ParkProfiles

#if canImport(Glibc)
import Glibc
#endif

struct PluginBenchArguments {
    var devices = 2_400
    var vehicles = 50
    var variant: String?
    var json = false

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() -> String {
                guard let value = iterator.next() else { fail("\(argument) needs a value") }
                return value
            }
            switch argument {
            case "--devices": devices = Int(value()).flatMap { $0 > 0 ? $0 : nil } ?? { fail("--devices takes a whole number above 0") }()
            case "--vehicles": vehicles = Int(value()).flatMap { $0 > 0 ? $0 : nil } ?? { fail("--vehicles takes a whole number above 0") }()
            case "--variant": variant = value()
            case "--json": json = true
            case "-h", "--help":
                print("""
                    usage: parkbench-bench plugins [--devices N] [--vehicles N] [--json]

                    N plate cameras (default 2,400: a morning rush's 2,000 access points and 400 lanes) each
                    read V vehicles (default 50), once as the lpr-camera plugin and once as a built-in kind
                    doing the same work, each in a child process: events per CPU-second, bytes per device,
                    and what the plugin boundary costs per event.
                    """)
                exit(0)
            default: fail("unknown argument \(argument)")
            }
        }
    }
}

/// The built-in twin of the `lpr-camera` plugin: its descriptor, its behaviour, no boundary.
struct BuiltInPlateCameraKind: DeviceKind {
    let descriptor: KindDescriptor

    func makeDevice(_ setup: DeviceSetup) throws(DeviceError) -> any DeviceBehavior { BuiltInPlateCamera(setup: setup) }
}

/// What `LPRCamera` does, on ParkCore's own types: one pending read per vehicle, a uniform
/// recognition time, one draw for miss / misread / right, five readings out.
final class BuiltInPlateCamera: DeviceBehavior {
    private struct PendingRead {
        var plate: String
        var colour: String
        var vehicleType: String
        var sequence: UInt64
    }

    private let id: String
    private let recognitionTime: Double
    private let recognitionJitter: Double
    private let errorRate: Double
    private let missRate: Double
    private var random: SeededRandom
    private var pending: [UInt32: PendingRead] = [:]
    private var lastSequence: UInt64 = 0

    init(setup: DeviceSetup) {
        id = setup.id
        recognitionTime = Double(setup.parameters.duration("recognition_time").nanoseconds)
        recognitionJitter = Double(setup.parameters.duration("recognition_jitter").nanoseconds)
        errorRate = setup.parameters.double("error_rate")
        missRate = setup.parameters.double("miss_rate")
        random = setup.random
    }

    func start(context: DeviceContext) {}

    func timerFired(tag: UInt32, context: DeviceContext) {
        guard let read = pending.removeValue(forKey: tag >> 8) else { return }
        let outcome = random.nextUnit()
        if outcome < missRate {
            context.emit(Emission(channel: .local, name: "missed", readings: [Reading("plate", .string(""), truth: .string(read.plate))]))
            return
        }
        let misread = outcome < missRate + errorRate
        var seen = read.plate
        if misread {
            var characters = Array(read.plate)
            let index = min(characters.count - 1, 2 + Int(random.next() % UInt64(max(1, characters.count - 2))))
            characters[index] = characters[index] == "8" ? "B" : "8"
            seen = String(characters)
        }
        let draw = random.nextUnit()
        let confidence = ((misread ? 0.60 + draw * 0.29 : 0.90 + draw * 0.09) * 1_000).rounded() / 1_000
        context.emit(event: "plate", [
            Reading("plate", .string(seen), truth: .string(read.plate)),
            Reading("plate_colour", .string(read.colour), truth: .string(read.colour)),
            Reading("vehicle_type", .string(read.vehicleType), truth: .string(read.vehicleType)),
            Reading("confidence", .double(confidence)),
            Reading("image", .string("img/\(id)/\(read.sequence).jpg")),
        ])
    }

    func apply(stimulus: Stimulus, context: DeviceContext) throws(DeviceError) {
        guard case .string(let plate)? = stimulus.arguments["plate"] else { throw DeviceError("vehicle needs a plate") }
        var colour = "blue", vehicleType = "car"
        if case .string(let text)? = stimulus.arguments["colour"] { colour = text }
        if case .string(let text)? = stimulus.arguments["type"] { vehicleType = text }
        lastSequence += 1
        let key = UInt32(lastSequence & 0xFF_FFFF)
        pending[key] = PendingRead(plate: plate, colour: colour, vehicleType: vehicleType, sequence: lastSequence)
        let delay = max(1_000_000, recognitionTime + (2 * random.nextUnit() - 1) * recognitionJitter)
        context.schedule(after: .nanoseconds(UInt64(delay.rounded())), tag: 2 | key << 8)
    }

    func handle(command: DeviceCommand, context: DeviceContext) -> CommandResult {
        CommandResult(.rejected(reason: "lpr-camera takes no commands"))
    }
}

func runPluginBench(_ arguments: PluginBenchArguments) {
    if let variant = arguments.variant {
        let figures = pluginBenchVariant(variant, devices: arguments.devices, vehicles: arguments.vehicles)
        let data = try! JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    if !arguments.json {
        print("bench plugins: \(arguments.devices) plate cameras × \(arguments.vehicles) vehicles, as the lpr-camera plugin and as a built-in twin (virtual time, ledger only, one child process each)")
    }
    var results: [String: [String: Double]] = [:]
    for variant in ["builtin", "plugin"] {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["plugins", "--variant", variant, "--devices", String(arguments.devices), "--vehicles", String(arguments.vehicles)]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { fail("cannot run \(executable): \(error)") }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let figures = try? JSONSerialization.jsonObject(with: output) as? [String: Double] else {
            fail("the \(variant) run failed (exit \(process.terminationStatus)): \(String(decoding: output, as: UTF8.self))")
        }
        results[variant] = figures
    }
    let builtin = results["builtin"]!, plugin = results["plugin"]!
    let perEventBuiltin = 1e6 / builtin["events_per_cpu_second"]!
    let perEventPlugin = 1e6 / plugin["events_per_cpu_second"]!
    let summary: [String: Double] = [
        "devices": Double(arguments.devices), "vehicles_per_device": Double(arguments.vehicles),
        "builtin_events_per_cpu_second": builtin["events_per_cpu_second"]!, "plugin_events_per_cpu_second": plugin["events_per_cpu_second"]!,
        "builtin_bytes_per_device": builtin["bytes_per_device"]!, "plugin_bytes_per_device": plugin["bytes_per_device"]!,
        "builtin_us_per_event": perEventBuiltin, "plugin_us_per_event": perEventPlugin,
        "boundary_us_per_event": perEventPlugin - perEventBuiltin,
        "plugin_slowdown": builtin["events_per_cpu_second"]! / plugin["events_per_cpu_second"]!,
    ]
    if arguments.json {
        let data = try! JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    for (name, figures) in [("built-in", builtin), ("plugin", plugin)] {
        print(String(format: "%-9@ %8.0f events/CPU-s (%.2f µs each: stimulus in, timer, plate event out), %6.0f B per device, %.0f events in %.2f CPU-s",
                     name as NSString, figures["events_per_cpu_second"]!, 1e6 / figures["events_per_cpu_second"]!, figures["bytes_per_device"]!,
                     figures["events"]!, figures["cpu_seconds"]!))
    }
    print(String(format: "boundary  %.2f µs per event (%.2f× the built-in's time); a morning rush of 2,000 access terminals and 400 lanes at 1 event/s each costs %.2f %% of a core more as plugins",
                 summary["boundary_us_per_event"]!, summary["plugin_slowdown"]!, summary["boundary_us_per_event"]! * 2_400 / 1e6 * 100))
}

/// One variant in this process: create the devices, feed every vehicle, run until all are read.
func pluginBenchVariant(_ variant: String, devices: Int, vehicles: Int) -> [String: Double] {
    let discovery = PluginLoader.discover()
    guard let plugin = discovery.kinds.first(where: { $0.descriptor.name == "lpr-camera" }) else {
        fail("libParkPluginLPRCamera.so is not next to parkbench-bench or on PARKBENCH_PLUGIN_PATH: build it with `swift build -c release --product ParkPluginLPRCamera`"
             + (discovery.failures.isEmpty ? "" : " (\(discovery.failures.map(\.description).joined(separator: "; ")))"))
    }
    let kind: any DeviceKind = switch variant {
    case "plugin": plugin
    case "builtin": BuiltInPlateCameraKind(descriptor: plugin.descriptor)
    default: fail("--variant is plugin or builtin")
    }
    let parameters: DeviceParameters
    do {
        parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: [
            "recognition_time": "200ms", "recognition_jitter": "60ms", "error_rate": "0.002", "miss_rate": "0.001", "heartbeat_interval": "1h",
        ])
    } catch { fail(error.message) }
    let engine = VirtualTimeEngine()
    let ids = (0..<devices).map { String(format: "lpr-%05d", $0) }
    let before = residentBytes()
    for id in ids {
        do {
            try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(id: id, parameters: parameters, random: .forDevice(id, runSeed: 11))))
        } catch { fail(error.description) }
    }
    engine.start()
    let created = residentBytes()
    let plates = (0..<vehicles).map { String(format: "京A%05d", $0 * 7919 % 100_000) }
    let cpuStart = cpuSeconds()
    for plate in plates {
        let stimulus = Stimulus("vehicle", arguments: ["plate": .string(plate), "colour": .string("blue")])
        for id in ids {
            do { _ = try engine.apply(stimulus, to: id) } catch { fail(error.description) }
        }
        // A vehicle a second per lane: each read completes before the next car.
        engine.advance(by: .seconds(1))
    }
    // The ledger writes what no longer fits in memory on a thread of its own: wait for it, so
    // both variants pay for their records.
    engine.ledger.flushSpill()
    let cpu = cpuSeconds() - cpuStart
    // Every record past the stimuli is a read (a plate event or a missed one): no heartbeat falls
    // in the run (1 h). Counted rather than read back, which would cost more than the run.
    let events = Int(engine.ledger.count) - devices * vehicles
    return [
        "events": Double(events), "cpu_seconds": cpu, "events_per_cpu_second": Double(events) / cpu,
        "bytes_per_device": Double(created - before) / Double(devices),
    ]
}
