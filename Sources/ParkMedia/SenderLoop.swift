import ParkEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The state of an ``RTPSender``'s thread: its streams, their deadlines, the UDP batch. Touched
/// by that thread only (and by ``RTPSender/stop()`` once the thread has ended), so no locks.
final class SenderLoop {
    let clip: PacketizedClip
    let configuration: RTPSender.Configuration
    let selector: EpollSelector
    let udp: Int32
    /// Nanoseconds between frames (40 ms at 25 fps).
    let frameInterval: UInt64
    let lateThreshold: UInt64
    /// A stream this far behind skips ahead instead of sending its backlog.
    let catchUpLimit: UInt64
    var streams: [Int: SenderStream] = [:]
    var deadlines = DeadlineHeap<Int>()
    var batch = UDPBatch(capacity: 256)
    var statistics = RTPSenderStatistics()
    /// Scratch for a TCP packet's head, and for reading (and discarding) what a platform sends back.
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 4_096, alignment: 16)

    init(clip: PacketizedClip, configuration: RTPSender.Configuration, selector: EpollSelector, udp: Int32) {
        self.clip = clip
        self.configuration = configuration
        self.selector = selector
        self.udp = udp
        frameInterval = 1_000_000_000 / UInt64(clip.framesPerSecond)
        lateThreshold = configuration.lateThreshold.nanoseconds
        catchUpLimit = configuration.catchUpLimit.nanoseconds
    }

    deinit { scratch.deallocate() }

    /// Milliseconds until the earliest frame is due (rounded up, so a wake is never early), at most 1 s.
    func timeoutMilliseconds(now: UInt64) -> Int32 {
        guard let earliest = deadlines.earliest else { return 1_000 }
        guard earliest > now else { return 0 }
        return Int32(min(1_000, (earliest - now + 999_999) / 1_000_000))
    }

    func handle(_ command: SenderCommand, now: UInt64) {
        switch command {
        case .open(let id, let endpoint, let clock, let mode):
            let connection: SenderStream.Connection
            switch endpoint {
            case .udp(let address):
                let stored = UnsafeMutablePointer<sockaddr_in>.allocate(capacity: 1)
                stored.initialize(to: address)
                connection = .udp(stored)
            case .tcpConnect(let fd, let remote):
                connection = .connecting(fd, remote, inProgress: false)
            case .tcpListen(let fd):
                connection = .listening(fd)
                guard (try? selector.add(fd, interest: .readable, token: UInt64(id))) != nil else {
                    _ = close(fd)
                    statistics.disconnects += 1
                    return
                }
            }
            streams[id] = SenderStream(id: id, clock: clock, mode: mode, connection: connection)
        case .begin(let id):
            guard let stream = streams[id], !stream.begun else { return }
            stream.begun = true
            statistics.activeStreams += 1
            switch stream.connection {
            case .udp: startClock(stream, now: now)
            case .connecting(let fd, let remote, _): connect(stream, fd: fd, remote: remote, now: now)
            case .listening: break  // the clock starts when the platform connects
            case .connected: startClock(stream, now: now)  // accepted before the ACK
            }
        case .end(let id):
            guard let stream = streams[id] else { return }
            remove(stream)
        }
    }

    /// Frame 0 is due now; the stream goes on the heap.
    func startClock(_ stream: SenderStream, now: UInt64) {
        guard !stream.running else { return }
        stream.running = true
        stream.startTime = now
        stream.frameNumber = 0
        stream.nextDue = now
        deadlines.push(now, stream.id)
    }

    /// Sends every frame that is due, then the UDP batch.
    func sendDue(now: UInt64) {
        while let (deadline, id) = deadlines.popDue(now) {
            // Stale entries (an ended stream, or one restarted) are recognised here and dropped.
            guard let stream = streams[id], stream.running, stream.nextDue == deadline else { continue }
            let lateness = now > deadline ? now - deadline : 0
            if lateness > lateThreshold { statistics.lateFrames += 1 }
            if lateness > statistics.maximumLatenessNanoseconds { statistics.maximumLatenessNanoseconds = lateness }
            if lateness > catchUpLimit {
                // Too far behind to catch up by bursting (a burst would only make the next frames
                // late too): skip to the frame due now, as an overloaded camera drops frames, and
                // send nothing until a key frame a decoder can restart from.
                var current = (now - stream.startTime) / frameInterval
                if case .playback(let frames) = stream.mode { current = min(current, frames) }
                if current > stream.frameNumber {
                    statistics.droppedFrames += current - stream.frameNumber
                    stream.frameNumber = current
                    stream.awaitingKeyFrame = true
                }
            }
            if !playbackIsOver(stream) { sendFrame(stream) }
            guard streams[id] != nil, stream.running else { continue }
            if playbackIsOver(stream) {
                finish(stream)
                continue
            }
            stream.nextDue = stream.startTime &+ stream.frameNumber &* frameInterval
            deadlines.push(stream.nextDue, id)
        }
        flushUDP()
    }

    private func playbackIsOver(_ stream: SenderStream) -> Bool {
        if case .playback(let frames) = stream.mode { return stream.frameNumber >= frames }
        return false
    }

    /// Sends (UDP: batches) the stream's next frame, or drops it while waiting for a key frame.
    private func sendFrame(_ stream: SenderStream) {
        let frameCount = UInt64(clip.frames.count)
        let loop = stream.frameNumber / frameCount
        let frame = clip.frames[Int(stream.frameNumber % frameCount)]
        stream.frameNumber += 1
        if stream.awaitingKeyFrame, !frame.isKeyFrame {
            statistics.droppedFrames += 1
            return
        }
        switch stream.connection {
        case .udp(let address):
            stream.awaitingKeyFrame = false
            for packet in frame.firstPacket..<(frame.firstPacket + frame.packetCount) {
                if batch.isFull { flushUDP() }
                statistics.bytes += UInt64(batch.add(clip, packet: packet, loop: loop, clock: stream.clock, to: address))
                statistics.packets += 1
            }
        case .connected(let fd):
            queueFrame(frame, loop: loop, on: stream)
            write(stream, fd: fd)
        case .listening, .connecting:
            break  // not running until connected
        }
    }

    func flushUDP() {
        guard batch.count > 0 else { return }
        let refused = batch.flush(on: udp)
        statistics.droppedPackets += UInt64(refused)
        statistics.packets -= UInt64(refused)
    }

    /// A playback stream has played its range: UDP ends now, TCP once its queue has gone out.
    private func finish(_ stream: SenderStream) {
        stream.running = false
        statistics.finishedPlaybacks += 1
        if case .connected = stream.connection, stream.queuedBytes > 0 {
            stream.finishing = true
            return
        }
        flushUDP()  // its last datagrams point at its address: send them before it is freed
        remove(stream)
    }

    /// Forgets a stream and releases its socket and address.
    func remove(_ stream: SenderStream) {
        streams[stream.id] = nil
        if stream.begun { statistics.activeStreams -= 1 }
        stream.running = false
        switch stream.connection {
        case .udp(let address):
            flushUDP()
            address.deallocate()
        case .listening(let fd), .connected(let fd), .connecting(let fd, _, _):
            try? selector.remove(fd)
            _ = close(fd)
        }
    }

    /// Releases everything (the thread has ended).
    func closeAll() {
        for stream in Array(streams.values) { remove(stream) }
        deadlines.removeAll()
        _ = close(udp)
    }
}
