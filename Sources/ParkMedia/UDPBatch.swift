import CLinuxEvents

#if canImport(Glibc)
import Glibc
#endif

/// The datagrams of one sender pass, kept until they go out in one `sendmmsg` batch: a head slot
/// per datagram (RTP header and restamped PS bytes, written here) and a pointer to its shared body.
/// Allocated once per sender, reused for every pass.
struct UDPBatch: ~Copyable {
    let capacity: Int
    private(set) var count = 0
    private let heads: UnsafeMutableRawPointer
    private let datagrams: UnsafeMutablePointer<parkbench_datagram>

    init(capacity: Int) {
        self.capacity = capacity
        heads = UnsafeMutableRawPointer.allocate(byteCount: capacity * PacketizedClip.headRoom, alignment: 16)
        datagrams = UnsafeMutablePointer<parkbench_datagram>.allocate(capacity: capacity)
    }

    deinit {
        heads.deallocate()
        datagrams.deallocate()
    }

    var isFull: Bool { count == capacity }

    /// Adds packet `packet` of pass `loop` of a stream; returns its size on the wire (RTP bytes).
    mutating func add(_ clip: PacketizedClip, packet: Int, loop: UInt64, clock: RTPStreamClock, to address: UnsafeRawPointer) -> Int {
        let head = heads.advanced(by: count * PacketizedClip.headRoom)
        let (headLength, body, bodyLength) = clip.writeHead(packet: packet, loop: loop, clock: clock, into: head)
        datagrams[count] = parkbench_datagram(
            head: head, head_length: headLength, body: body, body_length: bodyLength, address: address,
            address_length: UInt32(MemoryLayout<sockaddr_in>.size))
        count += 1
        return headLength + bodyLength
    }

    /// Sends what is batched on `fd`; returns how many datagrams the kernel refused (a full send
    /// buffer drops the rest of the batch; another error drops that one datagram and goes on).
    mutating func flush(on fd: Int32) -> Int {
        var start = 0
        var refused = 0
        while start < count {
            let sent = parkbench_send_datagrams(fd, datagrams + start, Int32(count - start))
            if sent > 0 {
                start += Int(sent)
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS {
                refused += count - start
                break
            }
            refused += 1
            start += 1
        }
        count = 0
        return refused
    }
}
