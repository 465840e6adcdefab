import CMosquitto

#if canImport(Glibc)
import Glibc
#endif

/// libmosquitto writes one byte to an internal socket pair for every packet it queues, to wake its
/// own `select` loop (`mosquitto_loop`). The pool never runs that loop, so nothing reads the pair,
/// and every client's unread bytes pile up to the socket's send-buffer limit: measured at 51 KB per
/// client after ~1,000 publishes and ~200 KB at the limit, over a gigabyte of kernel memory for
/// 6,000 clients. Shrinking the writer's SO_SNDBUF to the kernel minimum (~4.6 KB) bounds that; the
/// byte written per packet then simply fails with EAGAIN, which libmosquitto ignores.
///
/// libmosquitto has no API for the pair, so its descriptors are read from `struct mosquitto`, whose
/// first members in every 1.6–2.0 client build are `sock, sockpairR, sockpairW` (three ints). The
/// layout is verified before anything is touched: the first int must equal `mosquitto_socket()`
/// and the next two must be distinct Unix stream sockets. If not, nothing changes and the memory
/// caveat applies.
extension MQTTConnection {
    /// Call after each successful connect call (libmosquitto creates a fresh pair for each).
    func limitWakeSocketPair() {
        let fields = UnsafeRawPointer(mosq)
        let socket = fields.load(as: Int32.self)
        let reader = fields.load(fromByteOffset: 4, as: Int32.self)
        let writer = fields.load(fromByteOffset: 8, as: Int32.self)
        guard socket >= 0, socket == mosquitto_socket(mosq), reader >= 0, writer >= 0,
            Set([socket, reader, writer]).count == 3, Self.isUnixStreamSocket(reader), Self.isUnixStreamSocket(writer)
        else { return }
        var size: Int32 = 1  // the kernel raises it to its minimum
        setsockopt(writer, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func isUnixStreamSocket(_ fd: Int32) -> Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &length) == 0, value == AF_UNIX else { return false }
        length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &length) == 0 && value == Int32(SOCK_STREAM.rawValue)
    }
}
