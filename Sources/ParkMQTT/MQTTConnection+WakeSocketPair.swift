import CMosquitto

#if canImport(Glibc)
import Glibc
#endif

/// libmosquitto writes one byte to an internal socket pair for every packet it queues, to wake its
/// own `select` loop (`mosquitto_loop`). The pool never runs that loop, so nothing reads the pair:
/// every publish costs a second system call into the Unix-socket send path, and each client's
/// unread bytes pile up to the socket's send-buffer limit (measured: 51 KB per client after ~1,000
/// publishes, ~200 KB at the limit, over a gigabyte of kernel memory for 6,000 clients).
///
/// So the writer end is replaced, under the same descriptor number, by /dev/null (`dup2`): the
/// byte per packet then costs the cheapest write there is, no kernel buffer fills, and
/// libmosquitto still owns and later closes that descriptor, so no other socket can ever receive
/// its bytes. Measured with 1,000 clients publishing flat out: the wake-up writes were ~10 % of the
/// I/O thread. If /dev/null cannot be opened, the writer's SO_SNDBUF is shrunk to the kernel
/// minimum instead (the byte then fails with EAGAIN, which libmosquitto ignores).
///
/// libmosquitto has no API for the pair, so its descriptors are read from `struct mosquitto`, whose
/// first members in every 1.6–2.0 client build are `sock, sockpairR, sockpairW` (three ints). The
/// layout is verified before anything is touched: the first int must equal `mosquitto_socket()`
/// and the next two must be distinct Unix stream sockets. If not, nothing changes and the costs
/// above apply.
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
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        if null >= 0 {
            // dup2 drops O_CLOEXEC on the copy; libmosquitto created the pair with it, so restore it.
            let replaced = dup2(null, writer) == writer
            close(null)
            if replaced {
                _ = fcntl(writer, F_SETFD, FD_CLOEXEC)
                return
            }
        }
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
