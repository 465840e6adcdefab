import ParkEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking IPv4 UDP socket: bind, `recvfrom` until EAGAIN, `sendto` without waiting.
/// The descriptor is closed by ``close()`` once no thread uses it.
struct SIPUDPSocket: Sendable {
    let fd: Int32
    let local: SIPAddress

    /// What one `sendto` came to.
    enum SendResult { case sent, wouldBlock, failed(Int32) }

    init(binding address: SIPAddress) throws(EventLoopError) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EventLoopError("socket", code: errno) }
        // Registrations arrive in bursts (thousands of cameras answered at once); a deep receive
        // buffer absorbs them (the kernel caps it at rmem_max).
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var bound = address.sockaddr
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else {
            let code = errno
            Glibc.close(fd)
            throw EventLoopError("bind \(address)", code: code)
        }
        self.fd = fd
        local = SIPAddress(bound)
    }

    /// One datagram into `buffer`, nil when none is waiting (EAGAIN) or the socket failed.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, from: SIPAddress)? {
        var from = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &from) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length) }
        }
        guard count >= 0 else { return nil }
        return (count, SIPAddress(from))
    }

    func send(_ datagram: SIPDatagram) -> SendResult {
        var address = datagram.address.sockaddr
        let sent = datagram.bytes.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        if sent >= 0 { return .sent }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK ? .wouldBlock : .failed(code)
    }

    func close() { _ = Glibc.close(fd) }
}
