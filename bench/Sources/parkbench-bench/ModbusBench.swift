// parkbench-bench modbus [--meters N] [--seconds S] [--connections C]
//
// Modbus TCP serving, ParkBench against pymodbus in one run. `parkbench simulate --modbus-port`
// serves N electricity meters (acme-em3, default 10,000) on endpoints of 247 units; a pymodbus
// 3.x server serves the same register layout for 247 units on one port. The same client — C
// synchronous libmodbus connections (default 4), one thread each, every request reading 10 input
// registers from the next unit round robin — polls each for S seconds (default 10).
// Prints requests/s, the server's CPU and requests per server CPU-second, the ratio, and
// ParkBench's memory per meter (PSS and RSS). Target (issue 5): ≥ 5× pymodbus's requests per
// CPU-second, and ParkBench's meters are never the bottleneck (its server well under a core
// while the client is saturated).
import Foundation
import ParkModbus
import ParkTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct ModbusBenchArguments {
    var meters = 10_000
    var seconds = 10
    var connections = 4

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard let value = iterator.next(), let number = Int(value), number > 0 else {
                fail("\(argument) needs a positive whole number; usage: parkbench-bench modbus [--meters N] [--seconds S] [--connections C]")
            }
            switch argument {
            case "--meters": meters = number
            case "--seconds": seconds = number
            case "--connections": connections = number
            default: fail("unknown argument \(argument)")
            }
        }
    }
}

/// C threads, each a libmodbus connection to `ports[i % ports.count]`, reading 10 input registers
/// from units 1…`units` round robin for `seconds`; returns requests answered and errors.
func pollModbus(ports: [Int], units: Int, connections: Int, seconds: Double) -> (requests: Int, errors: Int, firstError: String?) {
    let requests = Atomic<Int>(0), errors = Atomic<Int>(0)
    let firstError = Mutex<String?>(nil)
    let deadline = SystemClockNow() + seconds
    var threads: [Thread] = []
    let done = DispatchGroup()
    for index in 0 ..< connections {
        done.enter()
        let port = ports[index % ports.count]
        let thread = Thread {
            defer { done.leave() }
            let client: ModbusMaster
            do { client = try ModbusMaster(host: "127.0.0.1", port: port) } catch {
                firstError.withLock { $0 = $0 ?? "\(error)" }
                errors.add(1, ordering: .relaxed)
                return
            }
            var unit = index % units
            var count = 0
            while SystemClockNow() < deadline {
                for _ in 0 ..< 64 {
                    do {
                        _ = try client.readInputRegisters(unit: UInt8(unit + 1), address: 0, count: 10)
                        count += 1
                    } catch {
                        errors.add(1, ordering: .relaxed)
                        firstError.withLock { $0 = $0 ?? "\(error)" }
                    }
                    unit = (unit + 1) % units
                }
            }
            requests.add(count, ordering: .relaxed)
        }
        threads.append(thread)
        thread.start()
    }
    done.wait()
    return (requests.load(ordering: .relaxed), errors.load(ordering: .relaxed), firstError.withLock { $0 })
}

func runModbusBench(_ arguments: ModbusBenchArguments) {
    let directory: TemporaryDirectory
    do { directory = try TemporaryDirectory() } catch { fail("\(error)") }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let park = directory.path("meters.yaml")
    do {
        try """
            park: modbus-bench
            seed: 3
            zones: [{id: M}]
            populations:
              - {model: acme-em3, zone: M, count: \(arguments.meters), id: "em-{n:05}"}
            """.write(toFile: park, atomically: true, encoding: .utf8)
    } catch { fail("cannot write \(park): \(error)") }
    print("bench modbus: \(arguments.meters) meters (acme-em3) in `parkbench simulate --modbus-port`, vs a pymodbus server with the same map for 247 units; "
          + "\(arguments.connections) synchronous libmodbus connections reading 10 input registers per request, \(arguments.seconds) s each; load before \(loadAverage())")

    // ParkBench.
    let port: Int
    do { port = try freeLoopbackPort() } catch { fail("\(error)") }
    let endpoints = (arguments.meters + 246) / 247
    let parkbench = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parkbench").path
    let simulate: ChildProcess
    do {
        simulate = try ChildProcess(parkbench, ["simulate", "--devices", root.appendingPathComponent("devices").path, "--park", park,
                                                "--duration", "\(arguments.seconds + 120)s", "--modbus-port", String(port), "--show", "none"],
                                    output: directory.path("simulate.log"))
    } catch { fail("cannot start parkbench: \(error)") }
    let ready = SystemClockNow()
    while !loopbackPortAccepts(port + endpoints - 1) {
        if !simulate.isRunning || SystemClockNow() - ready > 120 {
            fail("parkbench simulate did not open its Modbus endpoints: \((try? String(contentsOfFile: directory.path("simulate.log"), encoding: .utf8)) ?? "")")
        }
        usleep(50_000)
    }
    let startupSeconds = SystemClockNow() - ready
    // Spread the connections over the endpoints, as a gateway fleet would.
    let ports = (0 ..< arguments.connections).map { port + ($0 * endpoints / arguments.connections) }
    let residentIdle = residentBytes(of: simulate.pid), proportionalIdle = proportionalBytes(of: simulate.pid)
    let cpuBefore = processCPUSeconds(simulate.pid), clientBefore = processCPUTime()
    let ours = pollModbus(ports: ports, units: min(247, arguments.meters), connections: arguments.connections, seconds: Double(arguments.seconds))
    let ourCPU = processCPUSeconds(simulate.pid) - cpuBefore, ourClientCPU = processCPUTime() - clientBefore
    let resident = residentBytes(of: simulate.pid), proportional = proportionalBytes(of: simulate.pid)
    simulate.stop()

    // pymodbus, same map for 247 units on one port.
    let pyPort: Int
    do { pyPort = try freeLoopbackPort() } catch { fail("\(error)") }
    let script = directory.path("server.py")
    do {
        try """
            import sys
            from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext
            try:
                from pymodbus.datastore import ModbusDeviceContext as Context
                key = "devices"
            except ImportError:
                from pymodbus.datastore import ModbusSlaveContext as Context
                key = "slaves"
            from pymodbus.server import StartTcpServer
            devices = {unit: Context(ir=ModbusSequentialDataBlock(1, [unit] * 0x52), hr=ModbusSequentialDataBlock(1, [0] * 2))
                       for unit in range(1, 248)}
            StartTcpServer(context=ModbusServerContext(**{key: devices}, single=False), address=("127.0.0.1", int(sys.argv[1])))
            """.write(toFile: script, atomically: true, encoding: .utf8)
    } catch { fail("cannot write \(script): \(error)") }
    let server: ChildProcess
    do { server = try ChildProcess(try executablePath("python3"), [script, String(pyPort)], output: directory.path("pymodbus.log")) } catch {
        fail("cannot start pymodbus: \(error)")
    }
    let pyReady = SystemClockNow()
    while !loopbackPortAccepts(pyPort) {
        if !server.isRunning || SystemClockNow() - pyReady > 60 { fail("pymodbus server did not start") }
        usleep(50_000)
    }
    let pyBefore = processCPUSeconds(server.pid), pyClientBefore = processCPUTime()
    let theirs = pollModbus(ports: [pyPort], units: 247, connections: arguments.connections, seconds: Double(arguments.seconds))
    let pyCPU = processCPUSeconds(server.pid) - pyBefore, pyClientCPU = processCPUTime() - pyClientBefore
    server.stop()

    let seconds = Double(arguments.seconds)
    func line(_ name: String, _ result: (requests: Int, errors: Int, firstError: String?), cpu: Double, client: Double) -> String {
        String(format: "%@  %9.0f req/s  server CPU %5.1f %%  client CPU %5.1f %%  %8.0f req per server CPU-s  errors %d",
               name, Double(result.requests) / seconds, cpu / seconds * 100, client / seconds * 100,
               Double(result.requests) / max(cpu, 1e-9), result.errors)
    }
    print(String(format: "parkbench  %d meters on %d endpoints, up in %.1f s", arguments.meters, endpoints, startupSeconds))
    print(line("parkbench", ours, cpu: ourCPU, client: ourClientCPU))
    print(line("pymodbus ", theirs, cpu: pyCPU, client: pyClientCPU))
    if let error = ours.firstError ?? theirs.firstError { print("first error: \(error)") }
    let ratio = (Double(ours.requests) / max(ourCPU, 1e-9)) / (Double(theirs.requests) / max(pyCPU, 1e-9))
    print(String(format: "ratio      %.1f× pymodbus's requests per server CPU-second (target ≥ 5×)", ratio))
    print(String(format: "bottleneck ParkBench's server at %.0f %% of a core while the client used %.0f %%: %@",
                 ourCPU / seconds * 100, ourClientCPU / seconds * 100,
                 ourCPU / seconds < 0.9 ? "the meters are not the bottleneck" : "the meters ARE the bottleneck"))
    print(String(format: "memory     PSS %.2f KiB per meter (idle %.2f), RSS %.2f KiB per meter (the whole simulate process)",
                 Double(proportional) / 1024 / Double(arguments.meters), Double(proportionalIdle) / 1024 / Double(arguments.meters),
                 Double(resident) / 1024 / Double(arguments.meters)))
    _ = residentIdle
}
