import CPcap

/// The libpcap that this build links against.
///
/// ParkCapture will take wire timestamps and evidence slices with libpcap; this is its first
/// seam and lets `parkbench version` report the library that will capture.
public enum LibPcap {
    /// The library's own version banner, e.g. `libpcap version 1.10.3 (with TPACKET_V3)`.
    public static var version: String {
        String(cString: pcap_lib_version())
    }

    /// Opens a "dead" Ethernet handle (no device, no privileges needed) and closes it again,
    /// proving the library is usable, not only linked.
    public static func canOpenDeadHandle() -> Bool {
        guard let handle = pcap_open_dead(DLT_EN10MB, 65535) else { return false }
        pcap_close(handle)
        return true
    }
}
