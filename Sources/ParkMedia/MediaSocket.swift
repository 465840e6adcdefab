#if canImport(Glibc)
import Glibc
#endif

/// The few socket calls the sender makes, each returning a descriptor or throwing
/// ``MediaError/socket(_:code:)`` with the call's name: kept together so the sender's logic reads
/// without `sockaddr` casts.
enum MediaSocket {
    /// An IPv4 address and port as the kernel takes it.
    static func address(_ host: String, port: Int) throws(MediaError) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        guard (0...65_535).contains(port), inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw .badAddress("\(host):\(port)") }
        return address
    }

    /// A non-blocking socket of `type` bound to `host` (port 0: the kernel picks).
    static func bound(_ type: __socket_type, host: String, port: Int = 0) throws(MediaError) -> Int32 {
        var local = try address(host, port: port)
        let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket", code: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw .socket("bind(\(host):\(port))", code: code)
        }
        return fd
    }

    /// The port `fd` is bound to.
    static func localPort(_ fd: Int32) -> Int {
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: local.sin_port))
    }

    /// Starts a non-blocking connect; true when it completed at once (loopback sometimes does).
    static func connect(_ fd: Int32, to remote: sockaddr_in) throws(MediaError) -> Bool {
        var remote = remote
        let rc = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc == 0 { return true }
        guard errno == EINPROGRESS else { throw .socket("connect", code: errno) }
        return false
    }

    /// The pending error of a socket (a non-blocking connect's outcome), 0 for none.
    static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
        return code
    }

    static func setInteger(_ fd: Int32, _ level: Int32, _ option: Int32, _ value: Int32) {
        var value = value
        setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}
