// `sip`: N GB/T 28181 cameras (default 50,000) registering with MD5 digest from this one process
// to sipp as the platform (Tests/ParkGB28181InteropTests/Scenarios/gb28181-platform-uas.xml:
// sipp's own verifyauth judges every digest), then keeping alive for --idle seconds. The cameras
// share UDP sockets (--per-socket, 25,000: one socket and event thread per core), one event thread each.
//
// Prints: REGISTER transactions per second and registrations per second while all register
// (started at --rate cameras a second), retransmissions, refusals and timeouts; RSS per
// registered idle camera (the SIP side: registration, keepalive timer, transactions — the device
// model's own cost is the `timers` benchmark's); CPU and keepalives answered while idle; and side
// by side, sipp registering as the cameras (bench/peers/sipp-register-uac.xml) to a fresh sipp
// platform, the anchor for SIP rates, and sipp's own memory per registration it holds.
import Foundation
import ParkGB28181
import ParkTestSupport

#if canImport(Glibc)
import Glibc
#endif

struct SIPBenchArguments {
    var cameras = 50_000
    // One socket (one event thread) per core: 10 threads of 5,000 on 2 cores fall behind above ~10,000 registrations a second.
    var perSocket = 25_000
    var rate = 20_000
    var keepalive = 60
    var idle = 65.0
    var sippCalls = 50_000
    // sipp as both ends holds ~20,000 registrations a second here; asked for 50,000 it drowns in its own retransmissions.
    var sippRate = 15_000

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func number() -> Int {
                guard let text = iterator.next(), let value = Int(text), value > 0 else { fail("\(argument) takes a whole number above 0") }
                return value
            }
            switch argument {
            case "--cameras": cameras = number()
            case "--per-socket": perSocket = number()
            case "--rate": rate = number()
            case "--keepalive": keepalive = number()
            case "--idle": idle = Double(number())
            case "--sipp-calls": sippCalls = number()
            case "--sipp-rate": sippRate = number()
            case "-h", "--help":
                print("usage: parkbench-bench sip [--cameras N] [--per-socket N] [--rate CAMERAS/S] [--keepalive S] [--idle S] [--sipp-calls N] [--sipp-rate CALLS/S]")
                exit(0)
            default: fail("unknown argument \(argument); see --help")
            }
        }
        guard cameras <= 999_999 else { fail("--cameras: at most 999,999 (the ids' 6-digit serial)") }
    }
}

/// sipp as the GB/T 28181 platform, on a free loopback port.
private final class SippPlatform {
    let process: ChildProcess
    let port: Int

    init(scenario: String, password: String, directory: TemporaryDirectory, name: String) throws {
        var port = try freeLoopbackPort()
        // Free for TCP is not free for UDP: the other sipp holds UDP only.
        while loopbackUDPPortBound(port) { port = try freeLoopbackPort() }
        self.port = port
        process = try ChildProcess(
            try executablePath("sipp"),
            ["-sf", scenario, "-i", "127.0.0.1", "-p", String(port), "-t", "u1", "-nostdin", "-key", "password", password,
             "-buff_size", "4194304", "-trace_err", "-error_file", directory.path("\(name)-errors.log")],
            output: directory.path("\(name).out"))
        let deadline = ContinuousClock.now + .seconds(10)
        while !loopbackUDPPortBound(port) {
            guard process.isRunning, ContinuousClock.now < deadline else { fail("sipp did not bind UDP port \(port); see \(directory.path("\(name).out"))") }
            usleep(20_000)
        }
    }

    /// sipp's resident memory, from /proc.
    var residentBytes: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kib * 1024
    }
}

private typealias CameraTransport = SIPUDPTransport<SIPRegistrarClient>

private func totals(_ transports: [CameraTransport]) -> (counters: SIPRegistration.Counters, registered: Int) {
    var sum = SIPRegistration.Counters(), registered = 0
    for transport in transports {
        transport.inspect { client in
            for camera in client.registrations {
                sum.add(camera.counters)
                if case .registered = camera.state { registered += 1 }
            }
        }
    }
    return (sum, registered)
}

func runSIPBench(_ arguments: SIPBenchArguments) {
    let root = FileManager.default.currentDirectoryPath
    let platformScenario = root + "/Tests/ParkGB28181InteropTests/Scenarios/gb28181-platform-uas.xml"
    let cameraScenario = root + "/bench/peers/sipp-register-uac.xml"
    for file in [platformScenario, cameraScenario] where !FileManager.default.fileExists(atPath: file) {
        fail("run from the package root: \(file) is missing")
    }
    let password = "bench-camera-secret"
    let platformID = "34020000002000000001"
    let directory: TemporaryDirectory
    do { directory = try TemporaryDirectory() } catch { fail("\(error)") }

    // Ours: N cameras against sipp as the platform.
    let platform: SippPlatform
    do { platform = try SippPlatform(scenario: platformScenario, password: password, directory: directory, name: "platform") } catch { fail("sipp: \(error)") }
    defer { platform.process.stop(grace: .seconds(2)) }
    let sippBefore = platform.residentBytes
    let rssBefore = residentBytes()
    var transports: [CameraTransport] = []
    do {
        for first in stride(from: 0, to: arguments.cameras, by: arguments.perSocket) {
            let transport = try CameraTransport(binding: .loopback(port: 0)) { local in
                let settings = SIPRegistrationSettings(
                    server: .loopback(port: UInt16(platform.port)), serverID: platformID, domain: "3402000000", local: local,
                    keepaliveInterval: .seconds(arguments.keepalive))
                var client = SIPRegistrarClient(settings: settings, seed: UInt64(first + 1))
                for number in first..<min(first + arguments.perSocket, arguments.cameras) {
                    // swiftlint:disable:next force_try
                    let id = try! GB28181ID.nth(number + 1, of: .ipc, centre: "34020000").rawValue
                    client.add(deviceID: id, password: password)
                }
                return client
            }
            try transport.start()
            transports.append(transport)
        }
    } catch { fail("cannot open the cameras' sockets: \(error)") }
    defer { transports.forEach { $0.stop() } }
    print("sip: \(arguments.cameras) cameras on \(transports.count) UDP sockets → sipp platform on 127.0.0.1:\(platform.port), started at \(arguments.rate)/s")

    // Paced starts: every 10 ms, rate/100 cameras, spread over the sockets.
    let started = ContinuousClock.now
    var next = Array(repeating: 0, count: transports.count)
    var startedCount = 0, tick = 0
    while startedCount < arguments.cameras {
        tick += 1
        var quota = max(1, arguments.rate / 100)
        while quota > 0, startedCount < arguments.cameras {
            for (socket, transport) in transports.enumerated() where quota > 0 {
                let count = min(transport.inspect { $0.registrations.count } - next[socket], max(1, quota / transports.count))
                guard count > 0 else { continue }
                let range = next[socket]..<(next[socket] + count)
                transport.perform { client, now in for index in range { client.start(index, now: now) } }
                next[socket] += count
                startedCount += count
                quota -= count
            }
        }
        let due = started + .milliseconds(10 * tick)
        if ContinuousClock.now < due { Thread.sleep(forTimeInterval: Double((due - ContinuousClock.now).components.attoseconds) / 1e18) }
    }
    var registeredAt = started
    let deadline = started + .seconds(120)
    while true {
        let (_, registered) = totals(transports)
        if registered == arguments.cameras { registeredAt = ContinuousClock.now; break }
        guard ContinuousClock.now < deadline else {
            let (counters, _) = totals(transports)
            fail("only \(registered) of \(arguments.cameras) registered within 120 s (forbidden \(counters.forbidden), timeouts \(counters.timeouts), retransmissions \(counters.retransmissions))")
        }
        usleep(20_000)
    }
    let seconds = Double((registeredAt - started).components.attoseconds) / 1e18 + Double((registeredAt - started).components.seconds)
    let (registration, _) = totals(transports)
    let transactions = registration.registersSent - registration.retransmissions
    print(String(format: "registration        %d cameras in %.2f s: %.0f registrations/s, %.0f REGISTER transactions/s (digest: %d challenges)",
                 arguments.cameras, seconds, Double(arguments.cameras) / seconds, Double(transactions) / seconds, registration.challenges))
    print("                    retransmissions \(registration.retransmissions), refused \(registration.forbidden), timed out \(registration.timeouts)")

    // Idle, registered, keeping alive.
    let rssRegistered = residentBytes()
    let sippRegistered = platform.residentBytes
    let cpuBefore = cpuSeconds()
    let keepalivesBefore = registration
    Thread.sleep(forTimeInterval: arguments.idle)
    let cpuIdle = cpuSeconds() - cpuBefore
    let (idle, stillRegistered) = totals(transports)
    let rssIdle = residentBytes()
    print(String(format: "idle %.0f s          %d still registered; keepalives sent %d, answered %d, missed %d; CPU %.1f %% of one core",
                 arguments.idle, stillRegistered, idle.keepalivesSent - keepalivesBefore.keepalivesSent,
                 idle.keepalivesAnswered - keepalivesBefore.keepalivesAnswered, idle.keepalivesMissed - keepalivesBefore.keepalivesMissed,
                 100 * cpuIdle / arguments.idle))
    print(String(format: "memory              RSS %.1f KiB per registered camera (%.1f MiB for %d; after idle %.1f KiB); target <= 4 KiB: %@",
                 Double(rssRegistered - rssBefore) / 1024 / Double(arguments.cameras), Double(rssRegistered - rssBefore) / 1_048_576,
                 arguments.cameras, Double(rssIdle - rssBefore) / 1024 / Double(arguments.cameras),
                 Double(rssIdle - rssBefore) / Double(arguments.cameras) <= 4096 ? "met" : "MISSED"))
    print(String(format: "                    sipp as the platform holds them in %.1f KiB each",
                 Double(sippRegistered - sippBefore) / 1024 / Double(arguments.cameras)))
    transports.forEach { $0.stop() }

    // The anchor: sipp as the cameras, against a fresh sipp platform.
    let anchorPlatform: SippPlatform
    do { anchorPlatform = try SippPlatform(scenario: platformScenario, password: password, directory: directory, name: "anchor-platform") } catch {
        fail("sipp: \(error)")
    }
    defer { anchorPlatform.process.stop(grace: .seconds(2)) }
    let device = "34020000001320999999"
    let anchorStart = ContinuousClock.now
    // A free TCP port need not be a free UDP one (the platform's sipp holds UDP only): look again.
    var uacPort = 0
    repeat { uacPort = (try? freeLoopbackPort()) ?? 0 } while uacPort == 0 || uacPort == anchorPlatform.port || loopbackUDPPortBound(uacPort)
    let uac: ChildProcess
    do {
        uac = try ChildProcess(
            try executablePath("sipp"),
            ["127.0.0.1:\(anchorPlatform.port)", "-sf", cameraScenario, "-i", "127.0.0.1", "-p", String(uacPort), "-t", "u1",
             "-nostdin", "-m", String(arguments.sippCalls), "-r", String(arguments.sippRate), "-rp", "1000", "-l", String(arguments.sippCalls),
             "-key", "device", device, "-key", "platform", platformID, "-au", device, "-ap", password, "-buff_size", "4194304",
             "-timeout", "120"],
            output: directory.path("anchor-uac.out"))
    } catch { fail("sipp: \(error)") }
    guard uac.waitForExit(timeout: .seconds(150)) else { uac.stop(); fail("sipp as the cameras did not finish in 150 s") }
    let anchorSeconds = Double((ContinuousClock.now - anchorStart).components.attoseconds) / 1e18
        + Double((ContinuousClock.now - anchorStart).components.seconds)
    // sipp's final screen: the Retrans column of its REGISTER rows.
    let screen = (try? String(contentsOfFile: directory.path("anchor-uac.out"), encoding: .isoLatin1)) ?? ""
    let sippRetransmissions = screen.split(separator: "\n").filter { $0.contains("REGISTER ---------->") }.suffix(3).reduce(0) { sum, row in
        sum + (row.split(separator: " ", omittingEmptySubsequences: true).compactMap { Int($0) }.dropFirst().first ?? 0)
    }
    if uac.status != 0 {
        let saved = "/tmp/parkbench-bench-sip-anchor.out"
        try? FileManager.default.removeItem(atPath: saved)
        try? FileManager.default.copyItem(atPath: directory.path("anchor-uac.out"), toPath: saved)
    }
    let outcome = uac.status == 0 ? "all succeeded" : "exit \(uac.status ?? -1): some failed, sipp's screen in /tmp/parkbench-bench-sip-anchor.out"
    print(String(format: "anchor: sipp        %d registrations (and unregistrations) at -r %d in %.2f s: %.0f registrations/s, %.0f REGISTER transactions/s, %d retransmissions (%@)",
                 arguments.sippCalls, arguments.sippRate, anchorSeconds, Double(arguments.sippCalls) / anchorSeconds,
                 Double(3 * arguments.sippCalls) / anchorSeconds, sippRetransmissions, outcome))
}
