import Foundation
import ParkMedia
import ParkTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The platform's side of a media stream, as a test plays it: a UDP socket that collects RTP
/// datagrams, and TCP sockets that read an RFC 4571 byte stream to its end.
enum LoopbackPeers {
    static let clipPath = "/" + "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/") + "/fixtures/media/clip.h264"

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        return address
    }

    static func bind(_ fd: Int32, port: Int = 0) throws -> Int {
        var address = loopback(port: port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw BrokerError("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func setTimeout(_ fd: Int32, milliseconds: Int) {
        var timeout = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A UDP socket on 127.0.0.1 with a large receive buffer (a clip's key frame arrives as a burst).
    static func udpReceiver() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerError("socket: errno \(errno)") }
        var size: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        return (fd, try bind(fd))
    }

    /// Datagrams until none arrives for `quietMilliseconds` (or `limit` seconds pass).
    static func receiveDatagrams(_ fd: Int32, quietMilliseconds: Int = 600, limit: Double = 10) -> [[UInt8]] {
        setTimeout(fd, milliseconds: quietMilliseconds)
        var packets: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let end = Date().addingTimeInterval(limit)
        while Date() < end {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 { if errno == EINTR { continue } else { break } }
            packets.append(Array(buffer[0..<count]))
        }
        return packets
    }

    /// A listening TCP socket on 127.0.0.1.
    static func tcpListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerError("socket: errno \(errno)") }
        let port = try bind(fd)
        guard listen(fd, 4) == 0 else { throw BrokerError("listen: errno \(errno)") }
        return (fd, port)
    }

    /// A TCP connection to 127.0.0.1:`port`.
    static func tcpConnect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerError("socket: errno \(errno)") }
        var address = loopback(port: port)
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { throw BrokerError("connect to \(port): errno \(errno)") }
        return fd
    }

    /// Accepts one connection, waiting at most `seconds`.
    static func accept(_ listener: Int32, seconds: Int = 5) throws -> Int32 {
        var poll = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, Int32(seconds * 1000)) == 1 else { throw BrokerError("no connection within \(seconds) s") }
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { throw BrokerError("accept: errno \(errno)") }
        return fd
    }

    /// RFC 4571 packets read until the sender closes the connection (or `limit` seconds pass).
    static func readFramed(_ fd: Int32, limit: Double = 10) -> (packets: [[UInt8]], closed: Bool) {
        setTimeout(fd, milliseconds: 500)
        var deframer = RFC4571Deframer()
        var packets: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let end = Date().addingTimeInterval(limit)
        while Date() < end {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return (packets, true) }
            if count < 0 { if errno == EINTR || errno == EAGAIN { continue } else { break } }
            deframer.append(buffer[0..<count])
            while let packet = deframer.next() { packets.append(packet) }
        }
        return (packets, false)
    }

    /// The RTP payloads in arrival order, joined: the program stream a platform would demux.
    static func programStream(_ packets: [[UInt8]]) -> [UInt8] {
        packets.flatMap { packet in RTPHeader.payloadOffset(in: packet[...]).map { Array(packet[$0...]) } ?? [] }
    }

    /// Whether `name` is on PATH (the decoders these tests compare against are optional peers).
    static func has(_ name: String) -> Bool { (try? executablePath(name)) != nil }

    /// Waits until `condition` holds or `seconds` pass.
    static func wait(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
