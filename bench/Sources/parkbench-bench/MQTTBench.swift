// parkbench-bench mqtt [--clients N] [--seconds S]
//
// ParkBench's MQTT client pool and paho-mqtt side by side in one run, against the same private
// mosquitto on loopback: N clients each, QoS 0, 100-byte messages, as fast as each can for S
// seconds. Prints messages/s, CPU of the publisher and of the broker, and the ratio of messages
// per publisher CPU-second. Issue 3's target: ParkBench ≥ 2.5× paho per CPU-second, and the
// broker (not ParkBench) is the bottleneck.
import Foundation
import ParkMQTT
import ParkTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct MQTTBenchArguments {
    var clients = 1_000
    var seconds = 10.0

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard let value = iterator.next() else { fail("\(argument) needs a value") }
            switch argument {
            case "--clients": clients = Int(value) ?? { fail("--clients takes a whole number") }()
            case "--seconds": seconds = Double(value) ?? { fail("--seconds takes a number") }()
            default: fail("unknown argument \(argument)")
            }
        }
    }
}

/// User + system CPU seconds of another process, from /proc/<pid>/stat.
func processCPUSeconds(_ pid: pid_t) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return 0 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, utime 14, stime 15 (1-based over the whole line).
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

struct PublishFigures {
    var messages: Int
    var seconds: Double
    var cpuSeconds: Double
    var brokerCPUSeconds: Double

    var rate: Double { Double(messages) / seconds }
    var perCPUSecond: Double { Double(messages) / max(cpuSeconds, 1e-9) }

    func line(_ name: String) -> String {
        String(format: "%-10@ %9.0f msg/s  publisher CPU %5.1f %%  broker CPU %5.1f %%  %9.0f msg per publisher CPU-s",
               name as NSString, rate, cpuSeconds / seconds * 100, brokerCPUSeconds / seconds * 100, perCPUSecond)
    }
}

/// Counts connects so the bench can wait for them.
final class ConnectCounter: MQTTClientPoolDelegate {
    let connected = Atomic<Int>(0)
    func mqttClientDidConnect(_ client: MQTTClientHandle, sessionPresent: Bool, latency: Duration) {
        connected.add(1, ordering: .relaxed)
    }
}

func runMQTTPublish(_ arguments: MQTTBenchArguments) {
    let broker: MosquittoBroker
    do { broker = try MosquittoBroker(options: ["max_connections -1"]) } catch { fail("cannot start mosquitto: \(error)") }
    guard let brokerPID = broker.pid else { fail("mosquitto is not running") }
    print("bench mqtt: \(arguments.clients) clients each, QoS 0, 100-byte payloads, \(arguments.seconds) s, mosquitto on 127.0.0.1:\(broker.port)")

    // ParkBench.
    let counter = ConnectCounter()
    let pool: MQTTClientPool
    do { pool = try MQTTClientPool(configuration: MQTTClientPoolConfiguration(ioThreads: 1), delegate: counter) } catch {
        fail("cannot start the pool: \(error)")
    }
    var handles: [MQTTClientHandle] = []
    let connectStart = SystemClockNow()
    for index in 0..<arguments.clients {
        do { handles.append(try pool.addClient(MQTTClientConfiguration(clientID: "pb-bench-\(index)", port: broker.port))) } catch {
            fail("cannot add client: \(error)")
        }
    }
    while counter.connected.load(ordering: .relaxed) < arguments.clients {
        if SystemClockNow() - connectStart > 60 { fail("only \(counter.connected.load(ordering: .relaxed)) clients connected in 60 s") }
        usleep(1_000)
    }
    let connectSeconds = SystemClockNow() - connectStart
    print(String(format: "parkbench  %d clients connected in %.3f s (%.0f conn/s)", arguments.clients, connectSeconds,
                 Double(arguments.clients) / connectSeconds))

    let topics = (0..<arguments.clients).map { "bench/pb/\($0)" }
    let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
    let before = pool.statistics.messagesPublished
    let cpuStart = cpuSeconds(), brokerStart = processCPUSeconds(brokerPID), start = SystemClockNow()
    var index = 0
    while SystemClockNow() - start < arguments.seconds {
        for _ in 0..<256 {
            do { try pool.publish(handles[index], topic: topics[index], payload: payload) } catch {
                usleep(200)  // queue full: the broker or the I/O thread is behind; sleep, do not spin
            }
            index = index + 1 == handles.count ? 0 : index + 1
        }
    }
    let parkbench = PublishFigures(
        messages: pool.statistics.messagesPublished - before, seconds: SystemClockNow() - start,
        cpuSeconds: cpuSeconds() - cpuStart, brokerCPUSeconds: processCPUSeconds(brokerPID) - brokerStart)
    pool.shutdown()

    // paho-mqtt, same broker, same load.
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("peers/paho_publisher.py").path
    let output = broker.directory.path("paho.json")
    let pahoBrokerStart = processCPUSeconds(brokerPID)
    let paho: PublishFigures
    do {
        let process = try ChildProcess(
            try executablePath("python3"), [script, String(broker.port), String(arguments.clients), String(arguments.seconds)],
            output: output)
        guard process.waitForExit(timeout: .seconds(Int64(arguments.seconds) + 120)) else { fail("paho publisher did not finish") }
        let text = try String(contentsOfFile: output, encoding: .utf8)
        guard let line = text.split(separator: "\n").last,
              let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let messages = json["messages"] as? Int, let seconds = json["seconds"] as? Double,
              let cpu = json["cpu_seconds"] as? Double
        else { fail("paho publisher said: \(text)") }
        // The broker's CPU over paho's whole run includes its connects; scale to the publishing part.
        paho = PublishFigures(messages: messages, seconds: seconds, cpuSeconds: cpu,
                              brokerCPUSeconds: processCPUSeconds(brokerPID) - pahoBrokerStart)
    } catch {
        fail("cannot run the paho publisher: \(error)")
    }
    print(parkbench.line("parkbench"))
    print(paho.line("paho-mqtt"))
    let ratio = parkbench.perCPUSecond / paho.perCPUSecond
    print(String(format: "ratio      %.2f× paho's messages per publisher CPU-second (target ≥ 2.5×)", ratio))
    let brokerBound = parkbench.brokerCPUSeconds / parkbench.seconds >= 0.9 && parkbench.cpuSeconds < parkbench.brokerCPUSeconds
    print("broker is the bottleneck during the ParkBench run: \(brokerBound ? "yes" : "no") (broker ≥ 90 % of a core and above ParkBench)")
    broker.stop()
}

func SystemClockNow() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
