import ParkEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// RTP over TCP (RFC 4571): connecting, accepting, the bounded per-connection queue and writes.
extension SenderLoop {
    /// Readiness of a stream's descriptor (the token is the stream id).
    func ready(_ event: Readiness, now: UInt64) {
        guard event.token <= UInt64(Int.max), let stream = streams[Int(event.token)] else { return }
        switch stream.connection {
        case .udp: return
        case .listening(let listener):
            // accept4 is GNU-only in Swift's Glibc; the flags are set right after instead.
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }  // EAGAIN, or a connection reset before we took it
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            // One platform connection per stream: the listener has done its job.
            try? selector.remove(listener)
            _ = close(listener)
            MediaSocket.setInteger(fd, SOL_SOCKET, SO_SNDBUF, Int32(clamping: configuration.tcpSendBuffer))
            connected(stream, fd: fd, now: now)
        case .connecting(let fd, _, _):
            let code = event.failed ? max(1, MediaSocket.pendingError(fd)) : MediaSocket.pendingError(fd)
            guard code == 0 else { return disconnect(stream) }
            connected(stream, fd: fd, now: now)
        case .connected(let fd):
            if event.readable {
                // A platform may send RTCP back; read it so the socket does not fill, and drop it.
                let count = read(fd, scratch, 4_096)
                if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { return disconnect(stream) }
            } else if event.failed {
                return disconnect(stream)
            }
            if event.writable { write(stream, fd: fd) }
        }
    }

    /// Starts connecting a TCP-active stream (on begin: by then the platform is listening).
    func connect(_ stream: SenderStream, fd: Int32, remote: sockaddr_in, now: UInt64) {
        do {
            if try MediaSocket.connect(fd, to: remote) {
                try selector.add(fd, interest: .readable, token: UInt64(stream.id))
                stream.connection = .connected(fd)
                startClock(stream, now: now)
            } else {
                try selector.add(fd, interest: .writable, token: UInt64(stream.id))
                stream.connection = .connecting(fd, remote, inProgress: true)
            }
        } catch {
            disconnect(stream)
        }
    }

    private func connected(_ stream: SenderStream, fd: Int32, now: UInt64) {
        MediaSocket.setInteger(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let known = stream.descriptor == fd
        stream.connection = .connected(fd)
        do {
            if known {
                try selector.modify(fd, interest: .readable, token: UInt64(stream.id))
            } else {
                try selector.add(fd, interest: .readable, token: UInt64(stream.id))
            }
        } catch {
            return disconnect(stream)
        }
        if stream.begun { startClock(stream, now: now) }
    }

    /// Appends a frame's RFC 4571 packets to the queue, or drops it (counted) when it would take
    /// the queue over its bound or the stream is waiting for a key frame.
    func queueFrame(_ frame: PacketizedClip.Frame, loop: UInt64, on stream: SenderStream) {
        let packets = frame.firstPacket..<(frame.firstPacket + frame.packetCount)
        if stream.awaitingKeyFrame, !frame.isKeyFrame {
            statistics.droppedFrames += 1
            return
        }
        let framed = packets.reduce(0) { $0 + 2 + RTPHeader.length + clip.packets[$1].length }
        guard stream.queuedBytes + framed <= configuration.tcpQueueLimit else {
            statistics.droppedFrames += 1
            stream.awaitingKeyFrame = true
            return
        }
        stream.awaitingKeyFrame = false
        stream.queue.reserveCapacity(stream.queue.count + framed)
        for packet in packets {
            let (headLength, body, bodyLength) = clip.writeHead(packet: packet, loop: loop, clock: stream.clock, into: scratch.advanced(by: 2))
            RFC4571.writeLength(headLength + bodyLength, to: scratch)
            stream.queue.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: 2 + headLength))
            stream.queue.append(contentsOf: UnsafeRawBufferPointer(start: body, count: bodyLength))
            statistics.packets += 1
            statistics.bytes += UInt64(headLength + bodyLength)
        }
    }

    /// Writes what the kernel takes; watches for writability while bytes remain.
    func write(_ stream: SenderStream, fd: Int32) {
        while stream.queueStart < stream.queue.count {
            let remaining = stream.queue.count - stream.queueStart
            let written = stream.queue.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + stream.queueStart, remaining, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                stream.queueStart += written
            } else if written < 0, errno == EINTR {
                continue
            } else if written < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                break
            } else {
                return disconnect(stream)
            }
        }
        if stream.queueStart == stream.queue.count {
            stream.queue.removeAll(keepingCapacity: true)
            stream.queueStart = 0
        } else if stream.queueStart > 65_536, stream.queueStart * 2 > stream.queue.count {
            stream.queue.removeFirst(stream.queueStart)
            stream.queueStart = 0
        }
        let wantWritable = stream.queuedBytes > 0
        if wantWritable != stream.watchingWritable {
            stream.watchingWritable = wantWritable
            let interest: EventInterest = wantWritable ? [.readable, .writable] : .readable
            if (try? selector.modify(fd, interest: interest, token: UInt64(stream.id))) == nil { return disconnect(stream) }
        }
        if stream.finishing, !wantWritable { remove(stream) }
    }

    /// The connection failed or the platform closed it: the stream ends.
    func disconnect(_ stream: SenderStream) {
        statistics.disconnects += 1
        remove(stream)
    }
}
