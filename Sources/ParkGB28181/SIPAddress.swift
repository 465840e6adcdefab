#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 address and UDP port: where a datagram goes or came from. Kept as two integers (8
/// bytes) because every transaction holds one.
public struct SIPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address in host byte order (127.0.0.1 is 0x7F00_0001).
    public var ipv4: UInt32
    public var port: UInt16

    public init(ipv4: UInt32, port: UInt16) {
        self.ipv4 = ipv4
        self.port = port
    }

    /// Reads dotted-quad text (`"127.0.0.1"`); nil for anything else.
    public init?(_ host: String, port: UInt16) {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard part.count <= 3, let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        self.init(ipv4: value, port: port)
    }

    /// Reads `host:port` with a dotted-quad host (`"127.0.0.1:5060"`); nil for anything else.
    public init?(hostAndPort text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
        self.init(String(text[..<colon]), port: port)
    }

    public static func loopback(port: UInt16) -> SIPAddress { SIPAddress(ipv4: 0x7F00_0001, port: port) }

    public var host: String { "\(ipv4 >> 24).\(ipv4 >> 16 & 0xFF).\(ipv4 >> 8 & 0xFF).\(ipv4 & 0xFF)" }
    /// `host:port`, as Via sent-by and Contact write it.
    public var description: String { "\(host):\(port)" }

    var sockaddr: sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: ipv4.bigEndian)
        return address
    }

    init(_ address: sockaddr_in) {
        self.init(ipv4: UInt32(bigEndian: address.sin_addr.s_addr), port: UInt16(bigEndian: address.sin_port))
    }
}

/// One UDP datagram to send: bytes and where to.
public struct SIPDatagram: Sendable, Equatable {
    public var bytes: [UInt8]
    public var address: SIPAddress

    public init(bytes: [UInt8], address: SIPAddress) {
        self.bytes = bytes
        self.address = address
    }
}
