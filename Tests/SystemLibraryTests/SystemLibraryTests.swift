import Testing
import ParkCapture
import ParkModbus
import ParkMQTT

/// The C libraries named in DESIGN are really linked and callable, at the versions we build for.
@Suite struct SystemLibraryTests {
    /// libmodbus 3.1.x answers with its version and creates a TCP context.
    @Test func libmodbusLinks() {
        #expect(LibModbus.version.hasPrefix("3.1."))
        #expect(LibModbus.canCreateContext())
    }

    /// libmosquitto 2.x answers with its version and creates a client.
    @Test func libmosquittoLinks() {
        #expect(LibMosquitto.version.hasPrefix("2."))
        #expect(LibMosquitto.canCreateClient())
    }

    /// libpcap 1.10 answers with its banner and opens a dead handle.
    @Test func libpcapLinks() {
        #expect(LibPcap.version.contains("libpcap version 1.10"))
        #expect(LibPcap.canOpenDeadHandle())
    }
}
