import Foundation
import ParkModbus
import ParkTestSupport
import Testing

/// ParkModbus's DL/T 645 master (what the reference gateway polls with) reading a meter played by
/// the PyPI `dlt645` package's server — an independent slave — and our own bus endpoint.
@Suite(.serialized) struct DLT645MasterTests {
    /// Address 111111111111 reads the same in wire and nameplate order, so the package's
    /// byte-order convention for addresses does not matter here.
    static let meterServer = """
        import sys, time
        from dlt645 import MeterServerService
        port = int(sys.argv[1])
        service = MeterServerService.new_tcp_server("127.0.0.1", port, 5.0)
        service.set_address("111111111111")
        service.set_00(0x00010000, 1234.56)
        service.set_00(0x00020000, 7.89)
        service.set_02(0x02010100, 221.3)
        service.set_02(0x02020100, 15.123)
        service.set_02(0x02030000, 3.2109)
        service.set_02(0x02800002, 50.01)
        service.server.start()
        while True:
            time.sleep(1)
        """

    @Test func readsTheStandardDataItemsFromTheDlt645PackagesMeter() throws {
        let server = try PythonPeer(script: Self.meterServer, name: "dlt645-meter")
        defer { server.stop() }
        let port = server.port
        let items = Dictionary(DLT645DataItem.standard.map { ($0.identifier, $0.number) }, uniquingKeysWith: { first, _ in first })
        let master = try DLT645Master(host: "127.0.0.1", port: port, timeoutMicroseconds: 2_000_000)
        let expected: [(UInt32, Double)] = [
            (0x0001_0000, 1234.56), (0x0002_0000, 7.89), (0x0201_0100, 221.3), (0x0202_0100, 15.123), (0x0203_0000, 3.2109),
            (0x0280_0002, 50.01),
        ]
        for (identifier, value) in expected {
            let read = try master.read(meter: "111111111111", identifier: identifier, as: items[identifier]!)
            #expect(abs(read - value) < 1e-6, "\(String(identifier, radix: 16)): read \(read), set \(value)")
        }
        // A meter nobody has: no answer on a bus, reported as a timeout naming it.
        let short = try DLT645Master(host: "127.0.0.1", port: port, timeoutMicroseconds: 300_000)
        #expect(throws: DLT645Master.Failure.self) { try short.read(meter: "000000000042", identifier: 0x0001_0000, as: items[0x0001_0000]!) }
    }

    @Test func readsOurBusAndSeesErrorsAndSilence() throws {
        final class Meter: DLT645Meter, @unchecked Sendable {
            let address = DLT645Frame.address("000000000007")!
            var tripped: UInt8?
            func read(_ identifier: UInt32) -> [UInt8]? {
                identifier == 0x0001_0000 ? DLT645Number(bytes: 4, decimals: 2).encode(98765.43) : nil
            }
            func relay(_ code: UInt8) -> UInt8? { tripped = code; return nil }
            func synchronise(time: [UInt8]) {}
        }
        let meter = Meter()
        let server = DLT645TCPServer()
        server.add(meter)
        try server.start()
        defer { server.stop() }
        let master = try DLT645Master(host: "127.0.0.1", port: server.port, timeoutMicroseconds: 300_000)
        #expect(try master.read(meter: "000000000007", identifier: 0x0001_0000, as: DLT645Number(bytes: 4, decimals: 2)) == 98765.43)
        do {
            _ = try master.read(meter: "000000000007", identifier: 0x0405_0607, as: DLT645Number(bytes: 2, decimals: 0))
            Issue.record("an unknown data item must be refused")
        } catch {
            #expect(error.description == "meter 000000000007 answered error 02")
        }
        try master.relay(meter: "000000000007", code: 0x1A)
        #expect(meter.tripped == 0x1A)
        do {
            _ = try master.read(meter: "000000000008", identifier: 0x0001_0000, as: DLT645Number(bytes: 4, decimals: 2))
            Issue.record("an absent meter must time out")
        } catch {
            #expect(error.description == "meter 000000000008 did not answer")
        }
    }

    /// One deadline per request: a meter that drips its answer a byte at a time is a timeout,
    /// not a wait of as long as it likes (issue 11, defect 10).
    @Test func aDrippedAnswerTimesOutAsAWhole() throws {
        let server = try PythonPeer(script: HostileMeterPeers.dlt645, name: "drip", arguments: ["0", "0", "0.2"])
        defer { server.stop() }
        let master = try DLT645Master(host: "127.0.0.1", port: server.port, timeoutMicroseconds: 1_000_000)
        do {
            _ = try master.read(meter: "000000000031", identifier: 0x0201_0100, as: DLT645Number(bytes: 2, decimals: 1))
            Issue.record("an answer that takes 4 s to drip in must time out")
        } catch {
            #expect(error.description == "meter 000000000031 did not answer")
        }
    }

    /// The late answer to a request that timed out is not taken for the next request's, which
    /// asked for another data item.
    @Test func aLateAnswerIsNotTakenForTheNextOne() throws {
        let server = try PythonPeer(script: HostileMeterPeers.dlt645, name: "slow", arguments: ["0", "1.2", "0"])
        defer { server.stop() }
        let master = try DLT645Master(host: "127.0.0.1", port: server.port, timeoutMicroseconds: 1_000_000)
        let volts = DLT645Number(bytes: 2, decimals: 1), hertz = DLT645Number(bytes: 2, decimals: 2)
        #expect(throws: DLT645Master.Failure.self) { try master.read(meter: "000000000031", identifier: 0x0201_0100, as: volts) }
        #expect(try master.read(meter: "000000000031", identifier: 0x0280_0002, as: hertz) == 50.0)
    }

    /// Broken frames are counted by fault, and a request answered only with broken ones says so
    /// (issue 11, defect 11).
    @Test func brokenFramesAreCountedByFault() throws {
        let server = try PythonPeer(script: HostileMeterPeers.dlt645, name: "corrupt", arguments: ["2", "0", "0"])
        defer { server.stop() }
        let master = try DLT645Master(host: "127.0.0.1", port: server.port, timeoutMicroseconds: 500_000)
        let volts = DLT645Number(bytes: 2, decimals: 1)
        #expect(try master.read(meter: "000000000031", identifier: 0x0201_0100, as: volts) == 230.0)
        do {
            _ = try master.read(meter: "000000000031", identifier: 0x0201_0100, as: volts)
            Issue.record("the second answer is broken")
        } catch {
            guard case .brokenFrame(let meter, let reason) = error else { Issue.record("\(error)"); return }
            #expect(meter == "000000000031" && reason.hasPrefix("checksum"), "\(reason)")
            #expect(error.isUnanswered)
        }
        #expect(master.brokenFrames.counts == ["bad checksum": 1])
        #expect(master.validAnswers == 1)
    }
}
