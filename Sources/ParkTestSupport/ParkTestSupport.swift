// Test fixtures: everything tests need to run real peers. The broker and child-process helpers
// live in ParkBroker because `parkbench demo` embeds a mosquitto too; tests reach them here.
@_exported import ParkBroker

import Foundation

/// Whether something listens on 127.0.0.1:`port`/UDP. UDP peers (sipp, kamailio) print nothing
/// when they are ready, and a datagram sent before they bind is lost, so the tests wait for this.
public func loopbackUDPPortBound(_ port: Int) -> Bool {
    guard let table = try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8) else { return false }
    let local = "0100007F:" + String(format: "%04X", port)
    return table.split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first.map(String.init) == local }
}
