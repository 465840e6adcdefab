#if canImport(Glibc)
import Glibc
#endif

/// The socket calls the fault proxy makes, kept together so its loop reads without `sockaddr` casts.
enum ProxySocket {
    static func address(_ host: String, port: Int) throws(FaultProxyError) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        guard (0...65_535).contains(port) else { throw FaultProxyError("\(host):\(port) is not an IPv4 address and port") }
        if inet_pton(AF_INET, host, &address.sin_addr) == 1 { return address }
        // A name (the profile's broker host): its first IPv4 address.
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &found) == 0, let first = found, let resolved = first.pointee.ai_addr else {
            throw FaultProxyError("\(host):\(port) is not an IPv4 address and port, nor a name that resolves to one")
        }
        defer { freeaddrinfo(found) }
        resolved.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address.sin_addr = $0.pointee.sin_addr }
        return address
    }

    /// A non-blocking socket listening on `host:port` (0: a free port).
    static func listening(_ host: String, port: Int) throws(FaultProxyError) -> Int32 {
        var local = try address(host, port: port)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FaultProxyError("socket: \(String(cString: strerror(errno)))") }
        setInteger(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1024) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw FaultProxyError("cannot listen on \(host):\(port): \(reason)")
        }
        return fd
    }

    static func localPort(_ fd: Int32) -> Int {
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: local.sin_port))
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

    /// Makes the next close send RST instead of FIN.
    static func lingerZero(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }
}
