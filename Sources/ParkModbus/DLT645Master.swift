import ParkEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// A DL/T 645-2007 master over TCP (a serial-to-Ethernet converter in front of an RS-485 bus):
/// the side a meter-reading gateway plays. One request at a time, synchronous; one master per
/// thread. Replies are found with ``DLT645Decoder``, so wake-up bytes and split frames are fine.
///
/// Each request has one deadline for its whole answer, however the bytes trickle in, and starts
/// from a clean slate: bytes already waiting (the late rest of an answer that timed out) are
/// dropped, and an answer for another data item is not taken for this one's.
public final class DLT645Master {
    /// What went wrong, for people.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The connection could not be made or broke.
        case transport(String)
        /// No answer within the timeout (an absent or silent meter).
        case timeout(meter: String)
        /// The meter answered with the error bit set and this error byte.
        case refused(meter: String, code: UInt8)
        /// A well-formed answer whose content could not be read (wrong length, not BCD).
        case malformed(String)
        /// Only broken frames came back (bad checksum, no end byte) before the timeout.
        case brokenFrame(meter: String, reason: String)

        public var description: String {
            switch self {
            case .transport(let message), .malformed(let message): message
            case .brokenFrame(let meter, let reason): "meter \(meter) answered a broken frame: \(reason)"
            case .timeout(let meter): "meter \(meter) did not answer"
            case .refused(let meter, let code): "meter \(meter) answered error \(code < 0x10 ? "0" : "")\(String(code, radix: 16, uppercase: true))"
            }
        }

        /// The connection is unusable (reconnect before the next request).
        public var isTransport: Bool { if case .transport = self { true } else { false } }

        /// Nothing valid came back: no answer, a lost connection, or only broken frames.
        public var isUnanswered: Bool {
            switch self {
            case .transport, .timeout, .brokenFrame: true
            case .refused, .malformed: false
            }
        }
    }

    /// Broken frames received since the master was made, by what was wrong with them.
    public struct BrokenFrames: Sendable, Hashable {
        /// How many, by fault: `bad checksum`, `no end byte 16`, or the decoder's own words.
        public var counts: [String: Int] = [:]
        /// One decoder message per fault, as an example for a report.
        public var examples: [String: String] = [:]
        public var total: Int { counts.values.reduce(0, +) }

        /// The fault a decoder message describes, so that frames broken alike are counted together.
        static func fault(of reason: String) -> String {
            if reason.hasPrefix("checksum") { return "bad checksum" }
            if reason.contains("end with 16") { return "no end byte 16" }
            return reason
        }
    }

    /// Every broken frame seen, whether or not a good answer followed it.
    public private(set) var brokenFrames = BrokenFrames()
    /// Requests answered with a well-formed frame (an error answer included).
    public private(set) var validAnswers = 0

    private let socket: Int32
    private var decoder = DLT645Decoder()
    private let timeoutMilliseconds: Int32
    public let target: String

    public init(host: String, port: Int, timeoutMicroseconds: Int = 1_000_000) throws(Failure) {
        target = "\(host):\(port)"
        timeoutMilliseconds = Int32(max(1, timeoutMicroseconds / 1000))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw .transport("\(host) is not an IPv4 address") }
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .transport("socket(): \(String(cString: strerror(errno)))") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .transport("cannot connect to \(host):\(port): \(reason)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        socket = fd
    }

    deinit { close(socket) }

    /// Reads data item `identifier` (DI3 DI2 DI1 DI0 as written, e.g. 0x0001_0000) of `meter`
    /// (its 12-digit number) and decodes it with `number`.
    public func read(meter: String, identifier: UInt32, as number: DLT645Number) throws(Failure) -> Double {
        let di = Self.wireBytes(identifier)
        let reply = try exchange(meter: meter, control: DLT645Frame.Function.readData.rawValue, data: di, answering: di)
        guard reply.data.count >= 4 + number.bytes, Array(reply.data.prefix(4)) == di else {
            throw .malformed("meter \(meter) answered \(reply.data.count) data bytes for \(String(identifier, radix: 16)); expected the identifier and \(number.bytes)")
        }
        guard let value = number.decode(reply.data.dropFirst(4).prefix(number.bytes)) else {
            throw .malformed("meter \(meter): data item \(String(identifier, radix: 16)) is not BCD")
        }
        return value
    }

    /// Reads a block item (a total followed by its tariffs, as in `0506 01NN`): every number of
    /// the answer, in order.
    public func readBlock(meter: String, identifier: UInt32, as number: DLT645Number) throws(Failure) -> [Double] {
        let di = Self.wireBytes(identifier)
        let reply = try exchange(meter: meter, control: DLT645Frame.Function.readData.rawValue, data: di, answering: di)
        let body = Array(reply.data.dropFirst(4))
        guard Array(reply.data.prefix(4)) == di, !body.isEmpty, body.count % number.bytes == 0 else {
            throw .malformed("meter \(meter) answered \(reply.data.count) data bytes for \(String(identifier, radix: 16)); expected the identifier and a multiple of \(number.bytes)")
        }
        var values: [Double] = []
        for start in stride(from: 0, to: body.count, by: number.bytes) {
            guard let value = number.decode(body[start ..< start + number.bytes]) else {
                throw .malformed("meter \(meter): data item \(String(identifier, radix: 16)) is not BCD")
            }
            values.append(value)
        }
        return values
    }

    /// Read address (13) to `AA…AA`: on a point-to-point link the one meter answers with its
    /// number (the data field), from its own address (the frame's address field, which should
    /// be the same). On a bus of several meters they would all answer at once; ask them one by one.
    public func readAddress() throws(Failure) -> (number: String, frameAddress: String) {
        let reply = try exchange(address: DLT645Frame.wildcardAddress, naming: "AAAAAAAAAAAA",
                                 control: DLT645Frame.Function.readAddress.rawValue, data: [], replyFrom: nil, answering: nil)
        guard reply.data.count >= 6 else {
            throw .malformed("read address was answered with \(reply.data.count) data bytes, not the 6 of an address")
        }
        let number = DLT645Frame.number(Array(reply.data.prefix(6)))
        guard number.allSatisfy(\.isNumber) else { throw .malformed("read address was answered with \(number): not a BCD meter number") }
        return (number, DLT645Frame.number(reply.address))
    }

    /// Relay control (1C): `code` 1A trips the relay (拉闸), 1C closes it (合闸). Password and
    /// operator code are zeros, the validity time left open, as on a test bench.
    public func relay(meter: String, code: UInt8) throws(Failure) {
        let data = [UInt8](repeating: 0, count: 8) + [code, 0] + [UInt8](repeating: 0x99, count: 6)
        _ = try exchange(meter: meter, control: DLT645Frame.Function.relayControl.rawValue, data: data)
    }

    private func exchange(meter: String, control: UInt8, data: [UInt8], answering identifier: [UInt8]? = nil) throws(Failure) -> DLT645Frame {
        guard let address = DLT645Frame.address(meter) else { throw .malformed("'\(meter)' is not a 12-digit meter number") }
        return try exchange(address: address, naming: meter, control: control, data: data, replyFrom: address, answering: identifier)
    }

    /// Sends one request and waits for its reply: a reply frame of the same function from
    /// `replyFrom` (any meter when nil) that, when `identifier` is given and the answer is not an
    /// error, carries that data identifier. A frame that arrives broken is reported as such if
    /// no good reply follows it before the timeout.
    private func exchange(address: [UInt8], naming meter: String, control: UInt8, data: [UInt8],
                          replyFrom expected: [UInt8]?, answering identifier: [UInt8]?) throws(Failure) -> DLT645Frame {
        discardPending()
        let bytes = DLT645Frame(address: address, control: control, data: data).encoded()
        let sent = bytes.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw .transport("send to \(target): \(String(cString: strerror(errno)))") }
        var buffer = [UInt8](repeating: 0, count: 512)
        let deadline = Int64(MonotonicClock.milliseconds()) + Int64(timeoutMilliseconds)
        var broken: String?
        while true {
            let left = deadline - Int64(MonotonicClock.milliseconds())
            guard left > 0 else { throw broken.map { .brokenFrame(meter: meter, reason: $0) } ?? .timeout(meter: meter) }
            var poll = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = Glibc.poll(&poll, 1, Int32(left))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw .transport("\(target) closed the connection") }
            for item in decoder.feed(buffer.prefix(count)) {
                switch item {
                case .malformed(let reason):
                    broken = reason
                    let fault = BrokenFrames.fault(of: reason)
                    brokenFrames.counts[fault, default: 0] += 1
                    if brokenFrames.examples[fault] == nil { brokenFrames.examples[fault] = reason }
                case .frame(let frame):
                    guard frame.isReply, expected.map({ frame.address == $0 }) ?? true, frame.function == control & 0x1F else { continue }
                    let refused = frame.control & DLT645Frame.errorBit != 0
                    // A late answer to an earlier request for another item.
                    if !refused, let identifier, !frame.data.starts(with: identifier) { continue }
                    validAnswers += 1
                    if refused { throw .refused(meter: meter, code: frame.data.first ?? 0) }
                    return frame
                }
            }
        }
    }

    /// Drops whatever arrived before this request (the rest of an answer that timed out, or
    /// chatter on the bus) and a half-decoded frame with it: none of it answers this request.
    private func discardPending() {
        var scratch = [UInt8](repeating: 0, count: 512)
        while scratch.withUnsafeMutableBytes({ recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
        decoder = DLT645Decoder()
    }

    /// A data identifier as it goes on the wire: DI0 first.
    private static func wireBytes(_ identifier: UInt32) -> [UInt8] {
        [UInt8(identifier & 0xFF), UInt8(identifier >> 8 & 0xFF), UInt8(identifier >> 16 & 0xFF), UInt8(identifier >> 24)]
    }
}
