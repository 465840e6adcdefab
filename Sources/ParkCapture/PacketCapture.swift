import CPcap
import Foundation
import Synchronization

/// A live capture with libpcap: every packet matching a BPF filter is written to a pcap file,
/// and its MQTT packets are decoded as they arrive, each with the kernel's capture timestamp —
/// the wire time a harness compares its own timings with, and the evidence a failed check
/// ships.
///
/// One thread reads the capture (never one per connection). Nanosecond timestamps are asked
/// for; where the kernel cannot give them, microseconds are used and ``precision`` says so.
public final class PacketCapture: @unchecked Sendable {
    /// Timestamp resolution the capture actually got.
    public enum Precision: String, Sendable { case nanoseconds, microseconds }

    public let interface: String
    public let filter: String
    public let file: String
    public let precision: Precision

    // The pcap handles are touched only by the capture thread once it runs, and by stop()
    // after it has joined; the state below is shared and locked.
    private let handle: OpaquePointer
    private let dumper: OpaquePointer
    private let linkType: Int32
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    private struct State {
        var decoder = MQTTWireDecoder()
        var packets: [WireMQTTPacket] = []
        var captured = 0
        var notTCP = 0
        var stopped = false
    }

    /// Opens `interface` for capture and the output file. - Throws: ``CaptureError`` saying
    /// why (no permission — with the fix —, no such interface, a bad filter).
    public init(interface: String = "lo", filter: String, file: String) throws(CaptureError) {
        self.interface = interface
        self.filter = filter
        self.file = file
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(interface, &errorBuffer) else {
            throw CaptureError("cannot open \(interface) for capture: \(String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        pcap_set_snaplen(handle, 262_144)
        pcap_set_immediate_mode(handle, 1)
        pcap_set_timeout(handle, 10)
        pcap_set_buffer_size(handle, 8 << 20)
        let nano = pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO)) == 0
        let status = pcap_activate(handle)
        if status < 0 {
            let reason = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            switch status {
            case PCAP_ERROR_PERM_DENIED:
                throw CaptureError("no permission to capture on \(interface) (\(reason)); run as root or grant CAP_NET_RAW: sudo setcap cap_net_raw,cap_net_admin+eip $(which parkbench)")
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw CaptureError("no network interface '\(interface)' to capture on (\(reason))")
            default:
                throw CaptureError("cannot start capturing on \(interface): \(reason)")
            }
        }
        precision = nano && pcap_get_tstamp_precision(handle) == Int32(PCAP_TSTAMP_PRECISION_NANO) ? .nanoseconds : .microseconds
        var program = bpf_program()
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let reason = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            throw CaptureError("capture filter '\(filter)' is not valid: \(reason)")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            let reason = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            throw CaptureError("cannot apply capture filter '\(filter)': \(reason)")
        }
        guard let dumper = pcap_dump_open(handle, file) else {
            let reason = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            throw CaptureError("cannot write the capture to \(file): \(reason)")
        }
        self.handle = handle
        self.dumper = dumper
        linkType = pcap_datalink(handle)
    }

    /// Starts the capture thread.
    public func start() {
        let thread = Thread { [self] in
            let context = Unmanaged.passUnretained(self).toOpaque().assumingMemoryBound(to: UInt8.self)
            while !state.withLock({ $0.stopped }) {
                let result = pcap_dispatch(handle, -1, { user, header, bytes in
                    guard let user, let header, let bytes else { return }
                    let capture = Unmanaged<PacketCapture>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue()
                    capture.received(header, bytes, user: user)
                }, context)
                if result == PCAP_ERROR_BREAK || result == PCAP_ERROR { break }
            }
            finished.signal()
        }
        thread.name = "parkbench-capture"
        self.thread = thread
        thread.start()
    }

    /// Stops capturing, flushes and closes the file, and returns what was seen.
    @discardableResult
    public func stop() -> CaptureSummary {
        let alreadyStopped = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return state.stopped
        }
        if !alreadyStopped {
            pcap_breakloop(handle)
            if thread != nil { finished.wait() }
            pcap_dump_flush(dumper)
            pcap_dump_close(dumper)
            pcap_close(handle)
        }
        return summary
    }

    /// What has been seen so far.
    public var summary: CaptureSummary {
        state.withLock {
            CaptureSummary(
                packetsCaptured: $0.captured, packetsNotTCP: $0.notTCP, mqttPackets: $0.packets.count,
                malformedMQTT: $0.decoder.malformed, gaps: $0.decoder.gaps)
        }
    }

    /// Every MQTT packet decoded so far, in capture order.
    public var mqttPackets: [WireMQTTPacket] { state.withLock { $0.packets } }

    private func received(_ header: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>, user: UnsafeMutablePointer<UInt8>) {
        pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), header, bytes)
        let seconds = Int64(header.pointee.ts.tv_sec)
        let fraction = Int64(header.pointee.ts.tv_usec)
        let timestamp = seconds * 1_000_000_000 + (precision == .nanoseconds ? fraction : fraction * 1_000)
        let frame = UnsafeBufferPointer(start: bytes, count: Int(header.pointee.caplen))
        guard let segment = TCPSegment(frame: frame, linkType: linkType) else {
            state.withLock { $0.captured += 1; $0.notTCP += 1 }
            return
        }
        state.withLock { state in
            state.captured += 1
            guard !segment.payload.isEmpty else { return }
            state.packets += state.decoder.feed(segment.payload, sequence: segment.sequence, flow: segment.flow, timestamp: timestamp)
        }
    }
}

/// Counts of a capture.
public struct CaptureSummary: Sendable, Hashable {
    public var packetsCaptured: Int
    public var packetsNotTCP: Int
    public var mqttPackets: Int
    public var malformedMQTT: Int
    public var gaps: Int
}

/// Capture could not start or a file could not be written or read.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The IPv4/TCP part of a captured frame.
struct TCPSegment {
    var flow: TCPFlow
    var sequence: UInt32
    var payload: ArraySlice<UInt8>

    /// Nil for anything that is not IPv4 + TCP or is cut short.
    init?(frame: UnsafeBufferPointer<UInt8>, linkType: Int32) {
        let bytes = Array(frame)
        var offset: Int
        switch linkType {
        case DLT_EN10MB:
            guard bytes.count >= 14, bytes[12] == 0x08, bytes[13] == 0x00 else { return nil }
            offset = 14
        case DLT_NULL:
            offset = 4
        case DLT_LINUX_SLL:
            guard bytes.count >= 16, bytes[14] == 0x08, bytes[15] == 0x00 else { return nil }
            offset = 16
        case DLT_LINUX_SLL2:
            guard bytes.count >= 20, bytes[0] == 0x08, bytes[1] == 0x00 else { return nil }
            offset = 20
        case DLT_RAW, 12:
            offset = 0
        default:
            return nil
        }
        guard bytes.count >= offset + 20, bytes[offset] >> 4 == 4, bytes[offset + 9] == 6 else { return nil }
        let ipHeader = Int(bytes[offset] & 0x0F) * 4
        let totalLength = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        func word(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
        }
        let source = word(offset + 12), destination = word(offset + 16)
        let tcp = offset + ipHeader
        guard bytes.count >= tcp + 20 else { return nil }
        let sourcePort = UInt16(bytes[tcp]) << 8 | UInt16(bytes[tcp + 1])
        let destinationPort = UInt16(bytes[tcp + 2]) << 8 | UInt16(bytes[tcp + 3])
        let tcpHeader = Int(bytes[tcp + 12] >> 4) * 4
        // A total length of 0 is what segmentation offload leaves in a large captured segment:
        // the frame itself says how long it is.
        let end = totalLength == 0 ? bytes.count : min(bytes.count, offset + totalLength)
        guard tcpHeader >= 20, tcp + tcpHeader <= end else { return nil }
        flow = TCPFlow(sourceAddress: source, sourcePort: sourcePort, destinationAddress: destination, destinationPort: destinationPort)
        sequence = word(tcp + 4)
        payload = bytes[(tcp + tcpHeader) ..< end]
    }
}
