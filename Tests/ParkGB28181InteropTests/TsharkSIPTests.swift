import Foundation
import ParkCapture
import ParkGB28181
import ParkTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// tshark, an independent dissector, reads a loopback capture of our cameras talking to kamailio:
/// every datagram is SIP, every MANSCDP body (Keepalive, Alarm, Catalog in UTF-8 and GB2312) is
/// XML, and nothing is malformed or worth a warning (issue 14).
@Suite(.serialized) struct TsharkSIPTests {
    static let server = "34020000002000000001"
    static let domain = KamailioRegistrar.realm

    @Test func tsharkDissectsEveryRegisterKeepaliveAlarmAndCatalogMessageWithoutComplaint() throws {
        let cameras = try (1...3).map { try KamailioRegistrarTests.camera($0) }
        let nvr = try KamailioRegistrarTests.camera(4)
        var passwords = Dictionary(uniqueKeysWithValues: cameras.enumerated().map { ($1, KamailioRegistrarTests.password($0)) })
        passwords[nvr] = KamailioRegistrarTests.password(4)
        let kamailio = try KamailioRegistrar(passwords: passwords)
        defer { kamailio.stop() }

        let directory = try TemporaryDirectory()
        let file = directory.path("sip.pcap")
        let capture: PacketCapture
        do { capture = try PacketCapture(interface: "lo", filter: "udp port \(kamailio.port)", file: file) } catch {
            Issue.record("packet capture must work here (root or CAP_NET_RAW): \(error)")
            return
        }
        capture.start()
        defer { capture.stop() }

        // Three cameras with their passwords and one with a wrong one (a 403 goes on the wire too).
        let accounts = cameras.enumerated().map { ($1, KamailioRegistrarTests.password($0)) } + [(nvr, "not-the-password")]
        let transport = try KamailioRegistrarTests.transport(to: kamailio, accounts: accounts, keepalive: .milliseconds(300))
        try transport.start()
        defer { transport.stop() }
        transport.perform { client, now in client.startAll(now: now) }
        #expect(KamailioRegistrarTests.wait(transport) { client in
            client.registrations.prefix(3).allSatisfy { $0.counters.keepalivesAnswered >= 2 } && client.registrations[3].counters.forbidden >= 1
        }, "\(kamailio.logs())")

        // The bodies our client does not send yet, as a device would send them: an Alarm Notify and
        // a Catalog response split over two MESSAGEs, once in UTF-8 and once in GB2312.
        let socket = try UDPSocket(timeoutSeconds: 5)
        defer { socket.close() }
        let alarm = MANSCDPMessage.alarmNotify(
            sn: 7, deviceID: cameras[0], alarm: AlarmNotification(priority: 1, method: 5, time: "2026-12-06T08:00:00", description: "区域入侵", type: 2))
        let items = try (1...3).map { channel in
            CatalogItem(
                deviceID: try GB28181ID.nth(channel, of: .ipc, centre: "34020000").rawValue, name: "停车场入口 \(channel)",
                manufacturer: "ParkBench", model: "IPC", civilCode: "340200", parentID: cameras[0])
        }
        let catalog = MANSCDPMessage.catalogResponses(sn: 8, deviceID: cameras[0], items: items, perMessage: 2)
        var bodies = [try alarm.encoded(charset: .utf8)]
        for charset in [MANSCDPCharset.utf8, .gb2312] { bodies += try catalog.map { try $0.encoded(charset: charset) } }
        for (index, body) in bodies.enumerated() {
            let message = Self.message(from: cameras[0], via: socket.port, body: body, sequence: index + 1)
            try socket.send(message.serialized(), toPort: kamailio.port)
            let answer = try SIPParser().parse(try socket.receive())
            #expect(answer.status == 200 && answer.callID == message.callID, "MESSAGE \(index + 1): \(String(describing: answer.startLine))")
        }

        transport.perform { client, now in client.stopAll(now: now) }
        #expect(KamailioRegistrarTests.wait(transport) { $0.registrations.allSatisfy { $0.state == .unregistered } })
        transport.stop()
        // Every datagram either side sent must be in the file before it is read.
        let statistics = transport.statistics
        let datagrams = statistics.datagramsSent + statistics.datagramsReceived + 2 * bodies.count
        let deadline = ContinuousClock.now + .seconds(5)
        while capture.summary.packetsCaptured < datagrams, ContinuousClock.now < deadline { usleep(5_000) }
        #expect(capture.stop().packetsCaptured == datagrams)

        // No "decode as": tshark must recognise SIP on a port that is not 5060 by itself (its
        // sip_udp heuristic), or the frame shows as data. Wireshark 4.0 has no dissector for
        // Application/MANSCDP+xml, so XML in SIP bodies is found by the xml_sip heuristic (off by
        // default), which dissects any body that looks like XML.
        let read = ["-r", file, "--enable-heuristic", "xml_sip"]
        let frames = try tshark(read + ["-T", "fields", "-E", "separator=/t", "-e", "frame.protocols", "-e", "sip.Method", "-e", "sip.Status-Code"])
            .split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(frames.count == datagrams)
        let notSIP = frames.filter { !$0[0].hasSuffix(":sip") && !$0[0].contains(":sip:") }
        #expect(notSIP.isEmpty, "not dissected as SIP: \(notSIP)")
        let registrations = transport.inspect { $0.registrations }
        let keepalives = registrations.reduce(0) { $0 + $1.counters.keepalivesSent }
        let registers = registrations.reduce(0) { $0 + $1.counters.registersSent + $1.counters.retransmissions }
        let messages = frames.filter { $0.count > 1 && $0[1] == "MESSAGE" }
        #expect(messages.count == keepalives + bodies.count, "\(keepalives) keepalives and \(bodies.count) other bodies sent")
        #expect(frames.count { $0.count > 1 && $0[1] == "REGISTER" } == registers)
        let notXML = messages.filter { !$0[0].hasSuffix(":xml") }
        #expect(notXML.isEmpty, "MANSCDP bodies not dissected as XML: \(notXML)")
        let statuses = Set(frames.compactMap { $0.count > 2 ? Int($0[2]) : nil })
        #expect(statuses == [200, 401, 403], "\(statuses)")

        let cmdTypes = try tshark(read + ["-Y", "sip.Method == \"MESSAGE\"", "-T", "fields", "-e", "xml.cdata"])
        for cmdType in ["Keepalive", "Alarm", "Catalog"] { #expect(cmdTypes.contains(cmdType), "no \(cmdType) body in the capture") }
        // Warnings and errors of any dissector (malformed packets are errors too).
        let complaints = try tshark(read + ["-Y", "_ws.malformed || _ws.expert.severity >= warning", "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"])
        #expect(complaints.isEmpty, "tshark complains: \(complaints)")
    }

    /// A MANSCDP MESSAGE from `device` outside any dialog, as GB/T 28181 §9.3 and §9.5 send it.
    static func message(from device: String, via port: Int, body: [UInt8], sequence: Int) -> SIPMessage {
        var random = SystemRandomNumberGenerator()
        return .request(method: "MESSAGE", uri: "sip:\(server)@\(domain)", headers: [
            SIPHeader("Via", "SIP/2.0/UDP 127.0.0.1:\(port);rport;branch=\(SIPIdentifiers.branch(using: &random))"),
            SIPHeader("From", "<sip:\(device)@\(domain)>;tag=\(SIPIdentifiers.tag(using: &random))"),
            SIPHeader("To", "<sip:\(server)@\(domain)>"),
            SIPHeader("Call-ID", SIPIdentifiers.callID(host: "127.0.0.1", using: &random)),
            SIPHeader("CSeq", "\(sequence) MESSAGE"),
            SIPHeader("Max-Forwards", "70"),
            SIPHeader("User-Agent", "ParkBench GB28181"),
            SIPHeader("Content-Type", "Application/MANSCDP+xml"),
        ], body: body)
    }
}
