import Foundation
import ParkMQTT
@testable import ParkPlatform
import Testing

/// `POST /push` (issue 18): an event a device pushes over HTTP is taken in as if it came on its
/// MQTT event topic in the zone its body names — so the lane's whitelist rule opens that zone's
/// barrier — and a body that is not a device event is a 400 that says why. No sockets: the API's
/// answer is asked for directly and the platform publishes into a recorder.
@Suite struct PlatformPushTests {
    typealias Outlet = ReferencePlatformSIPTests.Outlet

    @Test func aPushedPlateOpensItsZonesBarrier() throws {
        let rules = try LinkageRule.parse("""
            lists: {whitelist: ["京A12345"]}
            rules:
              - id: entrance
                when: {event: plate, kind: lpr-camera, point: plate, in: whitelist}
                then: {command: open, to: {kind: barrier, zone: same}}
            """, file: "rules.yaml")
        let outlet = Outlet()
        let platform = ReferencePlatform(
            endpoints: .init(), configuration: PlatformConfiguration(linkageRules: rules), clock: ManualPlatformClock(), outlet: outlet)
        defer { platform.stop() }
        for zone in ["G1", "G2"] {
            platform.receive(topic: "park/\(zone)/barrier/barrier-\(zone)/status", payload: Array(#"{"device":"barrier-\#(zone)","kind":"barrier","status":"online"}"#.utf8))
        }
        let push = #"{"device":"lpr-G2","kind":"lpr-camera","seq":1,"msg_id":"lpr-G2#1","channel":"event","name":"plate","zone":"G2","values":{"plate":"京A12345","confidence":0.95}}"#
        let answer = platform.answer(method: "POST", uri: "/push", body: Array(push.utf8))
        #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
        #expect(body["accepted"] as? Bool == true && body["as"] as? String == "park/G2/lpr-camera/lpr-G2/event")
        let commands = outlet.objects(on: "park/G2/barrier/barrier-G2/cmd")
        #expect(commands.first?["command"] as? String == "open", "the pushed read opened its own lane's barrier")
        #expect(outlet.objects(on: "park/G1/barrier/barrier-G1/cmd").isEmpty)
        #expect(outlet.objects(on: "platform/records").first.flatMap { ($0["values"] as? [String: Any])?["plate"] as? String } == "京A12345")

        for (bad, why) in [("not json", "not a device event"), (#"{"kind":"x"}"#, "no \"device\""),
                           (#"{"device":"a/b","kind":"k","name":"plate"}"#, "\"device\" must be a non-empty name")] {
            let refused = platform.answer(method: "POST", uri: "/push", body: Array(bad.utf8))
            let message = (try? JSONSerialization.jsonObject(with: Data(refused.body)) as? [String: Any])?["error"] as? String ?? ""
            #expect(refused.status == 400 && message.contains(why), "\(bad): \(message)")
        }
    }
}
