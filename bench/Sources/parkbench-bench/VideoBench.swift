// parkbench-bench video [--streams N] [--seconds S] [--sinks K] [--clip PATH] [--receiver sinks|platform]
//
// GB/T 28181 live video at scale: N streams (default 200) of the fixture clip (CIF H.264, 25 fps,
// ~512 kbit/s, muxed into PS once) from ONE RTPSender thread to K local UDP sinks (default 4,
// drained by one receiving thread), for S seconds (default 15). Stream begins are spread over one
// frame time, as cameras asked at different moments would be. Prints the RTP rate sent and
// received (Mbit/s, packets/s), the sender thread's CPU (getrusage RUSAGE_THREAD), the process's
// CPU (sender + sinks), Mbit/s per sender CPU-second, late frames (> 10 ms after due), the worst
// lateness and drops. The receive side is part of the process CPU, not of the sender's.
//
// --receiver platform: instead of the bare sinks, the reference platform's RTPReceiver — a port
// per stream, every packet inspected (loss, jitter, each frame reassembled and read as a PS pack)
// on its one thread — and the receiver thread's CPU, the whole frames and what was lost.
import Foundation
import ParkMedia
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct VideoBenchArguments {
    var streams = 200
    var seconds = 15
    var sinks = 4
    var clip = "fixtures/media/clip.h264"
    var platformReceiver = false

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard let value = iterator.next() else { fail("\(argument) needs a value; usage: parkbench-bench video [--streams N] [--seconds S] [--sinks K] [--clip PATH] [--receiver sinks|platform]") }
            func number() -> Int {
                guard let number = Int(value), number > 0 else { fail("\(argument) takes a positive whole number, not '\(value)'") }
                return number
            }
            switch argument {
            case "--streams": streams = number()
            case "--seconds": seconds = number()
            case "--sinks": sinks = number()
            case "--clip": clip = value
            case "--receiver":
                guard ["sinks", "platform"].contains(value) else { fail("--receiver takes sinks or platform, not '\(value)'") }
                platformReceiver = value == "platform"
            default: fail("unknown argument \(argument); usage: parkbench-bench video [--streams N] [--seconds S] [--sinks K] [--clip PATH] [--receiver sinks|platform]")
            }
        }
    }
}

/// K UDP sockets on 127.0.0.1 drained by one thread (poll, then recv until EAGAIN): what arrives.
final class VideoSinks: Sendable {
    let descriptors: [Int32]
    let ports: [Int]
    let packets = Atomic<UInt64>(0)
    let bytes = Atomic<UInt64>(0)
    private let stopping = Atomic<Bool>(false)

    init(count: Int) {
        var descriptors: [Int32] = [], ports: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var size: Int32 = 16 << 20
            setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard fd >= 0, bound else { fail("cannot open a UDP sink on 127.0.0.1: errno \(errno)") }
            descriptors.append(fd)
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        self.descriptors = descriptors
        self.ports = ports
    }

    func start() -> Thread {
        let thread = Thread { [self] in drain() }
        thread.start()
        return thread
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    private func drain() {
        var polls = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopping.load(ordering: .relaxed) {
            guard poll(&polls, nfds_t(polls.count), 100) > 0 else { continue }
            var count: UInt64 = 0, total: UInt64 = 0
            for fd in descriptors {
                while true {
                    let received = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                    if received <= 0 { break }
                    count += 1
                    total += UInt64(received)
                }
            }
            packets.add(count, ordering: .relaxed)
            bytes.add(total, ordering: .relaxed)
        }
        for fd in descriptors { close(fd) }
    }
}

func runVideoBench(_ arguments: VideoBenchArguments) {
    let clip: PacketizedClip
    do { clip = try PacketizedClip(contentsOf: arguments.clip) } catch {
        fail("video: \(error) (run from the package root, or give --clip)")
    }
    let sinks = VideoSinks(count: arguments.platformReceiver ? 0 : arguments.sinks)
    let receiving = sinks.start()
    _ = receiving
    var receiver: RTPReceiver?
    var receiverStreams: [Int] = []
    var receiverPorts: [Int] = []
    if arguments.platformReceiver {
        do {
            let platform = try RTPReceiver()
            try platform.start()
            for _ in 0..<arguments.streams {
                let opened = try platform.open(.udp, expectedSSRC: nil)
                receiverStreams.append(opened.id)
                receiverPorts.append(opened.port)
            }
            receiver = platform
        } catch { fail("video: the platform's receiver: \(error)") }
    }
    let sender: RTPSender
    do {
        sender = try RTPSender(clip: clip)
        try sender.start()
    } catch { fail("video: \(error)") }
    print("bench video: \(arguments.streams) streams of \(clip.frames.count) frames at \(clip.framesPerSecond) fps, "
        + "\(clip.averageBitRate / 1000) kbit/s PS each, one sender thread, "
        + (arguments.platformReceiver ? "the platform's RTPReceiver (a port per stream, every frame inspected)" : "\(arguments.sinks) UDP sinks")
        + "; \(arguments.seconds) s")

    let cpuStart = cpuSeconds()
    let wallStart = Date()
    // Spread the begins over one frame time, as if each camera had been asked at its own moment.
    let gap = useconds_t(1_000_000 / clip.framesPerSecond / max(1, arguments.streams))
    for index in 0..<arguments.streams {
        let port = arguments.platformReceiver ? receiverPorts[index] : sinks.ports[index % sinks.ports.count]
        let clock = RTPStreamClock(ssrc: UInt32(100_000_000 + index), seed: UInt64(index))
        do {
            let stream = try sender.open(.init(transport: .udp(address: "127.0.0.1", port: port), clock: clock))
            sender.begin(stream.id)
        } catch { fail("video: stream \(index): \(error)") }
        if gap > 0 { usleep(gap) }
    }
    while Date().timeIntervalSince(wallStart) < Double(arguments.seconds) { usleep(100_000) }
    sender.stop()
    let wall = Date().timeIntervalSince(wallStart)
    let cpu = cpuSeconds() - cpuStart
    usleep(200_000)  // the last datagrams into the sinks
    sinks.stop()
    var inspected = PSStreamInspector.Statistics()
    if let receiver {
        for id in receiverStreams {
            guard let s = receiver.statistics(id) else { continue }
            inspected.packets += s.packets
            inspected.bytes += s.bytes
            inspected.frames += s.frames
            inspected.lost += s.lost
            inspected.incompleteFrames += s.incompleteFrames
            inspected.malformedFrames += s.malformedFrames
            inspected.maximumJitterMilliseconds = max(inspected.maximumJitterMilliseconds, s.maximumJitterMilliseconds)
        }
        receiver.stop()
        sinks.packets.store(UInt64(inspected.packets), ordering: .relaxed)
        sinks.bytes.store(UInt64(inspected.bytes), ordering: .relaxed)
    }
    let statistics = sender.statistics
    let senderCPU = Double(statistics.threadCPUMicroseconds) / 1e6
    let megabits = Double(statistics.bytes) * 8 / 1e6
    let receivedMegabits = Double(sinks.bytes.load(ordering: .relaxed)) * 8 / 1e6
    let expected = Double(arguments.streams) * Double(clip.averageBitRate) / 1e6
    print(String(format: "sent                %.1f Mbit/s RTP (%.0f expected: streams × clip rate), %.0f packets/s", megabits / wall, expected,
                 Double(statistics.packets) / wall))
    print(String(format: "received            %.1f Mbit/s, %.0f packets/s (%llu of %llu packets)", receivedMegabits / wall,
                 Double(sinks.packets.load(ordering: .relaxed)) / wall, sinks.packets.load(ordering: .relaxed), statistics.packets))
    print(String(format: "sender thread CPU   %.1f %% of one core (%.2f CPU-s over %.1f s)", senderCPU / wall * 100, senderCPU, wall))
    print(String(format: "process CPU         %.1f %% of one core (sender + sinks)", cpu / wall * 100))
    print(String(format: "efficiency          %.0f Mbit/s per sender CPU-second", senderCPU > 0 ? megabits / senderCPU : 0))
    print(String(format: "pacing              %llu late frames (> 10 ms) of %.0f, worst %.2f ms late", statistics.lateFrames,
                 Double(arguments.streams) * wall * Double(clip.framesPerSecond), Double(statistics.maximumLatenessNanoseconds) / 1e6))
    print("drops               \(statistics.droppedPackets) UDP packets refused, \(statistics.droppedFrames) frames")
    if let receiver {
        let receiverCPU = Double(receiver.threadCPUMicroseconds) / 1e6
        print(String(format: "receiver thread CPU %.1f %% of one core (%.2f CPU-s), %.0f Mbit/s per receiver CPU-second", receiverCPU / wall * 100,
                     receiverCPU, receiverCPU > 0 ? receivedMegabits / receiverCPU : 0))
        print(String(format: "inspected           %d whole frames, %d incomplete, %d malformed, %d packets lost, jitter up to %.1f ms",
                     inspected.frames, inspected.incompleteFrames, inspected.malformedFrames, inspected.lost, inspected.maximumJitterMilliseconds))
    }
}
