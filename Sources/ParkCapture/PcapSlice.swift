import CPcap
import Foundation

/// Cuts a time range out of a pcap file into a new one: the evidence for one failed check,
/// small enough to attach to a bug report, readable by tshark and Wireshark.
public enum PcapSlice {
    /// Writes the packets of `source` captured in `[start, end]` (Unix ns) to `destination`;
    /// returns how many. - Throws: ``CaptureError`` naming the file that could not be read or written.
    @discardableResult
    public static func write(from source: String, to destination: String, start: Int64, end: Int64) throws(CaptureError) -> Int {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let input = pcap_open_offline_with_tstamp_precision(source, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer) else {
            throw CaptureError("cannot read the capture \(source): \(String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        defer { pcap_close(input) }
        guard let output = pcap_dump_open(input, destination) else {
            throw CaptureError("cannot write the capture slice \(destination): \(String(cString: pcap_geterr(input)))")
        }
        defer { pcap_dump_close(output) }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var written = 0
        while pcap_next_ex(input, &header, &data) == 1 {
            guard let header, let data else { continue }
            let time = Int64(header.pointee.ts.tv_sec) * 1_000_000_000 + Int64(header.pointee.ts.tv_usec)
            // No early stop past `end`: a live capture's stamps are not strictly ordered (packets
            // from different CPUs can land a few µs out of order), so the whole file is read.
            guard time >= start, time <= end else { continue }
            pcap_dump(UnsafeMutableRawPointer(output).assumingMemoryBound(to: UInt8.self), header, data)
            written += 1
        }
        return written
    }
}
