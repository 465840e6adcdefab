import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP client for hand-made frames, as a broken or hostile master sends them: blocking
/// reads with a timeout, and non-blocking writes for a client that floods without reading.
final class RawTCPClient {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let fd: Int32

    /// - Parameter receiveBuffer: a small one keeps the kernel from absorbing megabytes of replies
    ///   a flooder never reads, so the server's own limits are what is tested.
    init(port: Int, receiveTimeout seconds: Int = 2, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "connect to port \(port): \(reason)")
        }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    /// Writes without blocking; returns how much the kernel took (0 when its buffers are full).
    func writeSome(_ bytes: [UInt8]) -> Int {
        max(0, bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) })
    }

    /// Waits up to `milliseconds` for room to write.
    func waitWritable(milliseconds: Int32) -> Bool {
        var poll = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        return Glibc.poll(&poll, 1, milliseconds) == 1
    }

    /// Reads exactly `count` bytes; nil on timeout, error or end of stream before that.
    func read(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, count - offset, 0) }
            guard got > 0 else { return nil }
            offset += got
        }
        return bytes
    }

    /// Reads what arrives until `count` bytes or the receive timeout; returns them.
    func readUpTo(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, count - offset, 0) }
            guard got > 0 else { break }
            offset += got
        }
        return Array(bytes[0 ..< offset])
    }

    /// True once the peer has closed the connection (or reset it) within the receive timeout.
    func peerClosed() -> Bool {
        var byte: UInt8 = 0
        let got = recv(fd, &byte, 1, 0)
        return got == 0 || (got < 0 && errno == ECONNRESET)
    }

    /// Floods requests without reading any reply until `enough` says so (checked whenever the
    /// kernel stops taking them) or `seconds` pass; returns how many whole requests went out
    /// (the last may be sent in part, and is not counted).
    func flood(_ request: (Int) -> [UInt8], seconds: Double = 60, until enough: () -> Bool) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        var count = 0
        var pending: [UInt8] = []
        while Date() < deadline {
            if pending.isEmpty { pending = request(count) }
            let sent = writeSome(pending)
            if sent == pending.count {
                pending = []
                count += 1
                continue
            }
            pending.removeFirst(sent)
            if enough() { break }
            _ = waitWritable(milliseconds: 50)
        }
        // A request half sent stays unanswered (the server waits for its rest); it is not counted,
        // and finishing it with a blocking write would wait forever on a server that paused reading.
        return count
    }
}
