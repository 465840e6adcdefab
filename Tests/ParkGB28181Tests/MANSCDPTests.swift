import Foundation
@testable import ParkGB28181
import Testing

/// MANSCDP bodies (GB/T 28181-2016 Appendix A) written and read in UTF-8 and GB2312.
@Suite struct MANSCDPTests {
    let nvr = "34020000001180000001"

    func channels(_ count: Int) throws -> [CatalogItem] {
        try (1...count).map {
            CatalogItem(
                deviceID: try GB28181ID.nth($0, of: .camera, centre: "34020000").rawValue, name: "Camera \($0)", manufacturer: "Hikvision",
                model: "DS-2CD2T47G2", civilCode: "340200", parentID: nvr)
        }
    }

    /// 128 channels at 40 a message: 4 messages, SumNum 128 in each, Num 40/40/40/8, every channel once.
    @Test func aCatalogSplitsBySumNum() throws {
        let items = try channels(128)
        let messages = MANSCDPMessage.catalogResponses(sn: 17, deviceID: nvr, items: items, perMessage: 40)
        #expect(messages.count == 4)
        var seen: [CatalogItem] = []
        for message in messages {
            let read = try MANSCDPMessage(bytes: try message.encoded(charset: .gb2312))
            #expect(read == message)
            #expect(read.cmdType == "Catalog" && read.sn == 17 && read.deviceID == nvr && read.sumNum == 128)
            let items = try read.catalogItems()
            #expect(read.deviceListNum == items.count)
            seen += items
        }
        #expect(messages.map(\.deviceListNum) == [40, 40, 40, 8])
        #expect(seen == items)
        let empty = MANSCDPMessage.catalogResponses(sn: 1, deviceID: nvr, items: [], perMessage: 40)
        #expect(empty.count == 1 && empty[0].sumNum == 0 && empty[0].deviceListNum == 0)
    }

    @Test func keepaliveDeviceInfoAlarmAndQueryRoundTrip() throws {
        let camera = "34020000001320000001"
        let info = DeviceInfo(name: "IPC", manufacturer: "Hikvision", model: "DS-2CD2T47G2", firmware: "V5.7.3", channels: 1)
        let alarm = AlarmNotification(priority: 1, method: 5, time: "2026-12-06T10:00:00", description: "Motion <zone 1> & more", type: 2)
        let bodies: [MANSCDPMessage] = [
            .keepalive(sn: 1, deviceID: camera), .deviceInfoResponse(sn: 2, deviceID: camera, info: info),
            .alarmNotify(sn: 3, deviceID: camera, alarm: alarm), .query(cmdType: "Catalog", sn: 4, deviceID: camera),
        ]
        for charset in [MANSCDPCharset.utf8, .gb2312] {
            for body in bodies {
                let bytes = try body.encoded(charset: charset)
                #expect(String(decoding: bytes.prefix(50), as: UTF8.self).contains("encoding=\"\(charset.label)\""))
                #expect(try MANSCDPMessage(bytes: bytes) == body)
            }
        }
        #expect(try MANSCDPMessage(bytes: bodies[0].encoded())["Status"] == "OK")
        #expect(try MANSCDPMessage(bytes: bodies[1].encoded()).deviceInfo() == info)
        #expect(try MANSCDPMessage(bytes: bodies[2].encoded()).alarm() == alarm)
        let query = try MANSCDPMessage(bytes: bodies[3].encoded())
        #expect(query.kind == .query && query.cmdType == "Catalog" && query.sn == 4 && query.deviceID == camera)
    }

    @Test func chineseNamesTravelInBothCharsets() throws {
        var item = try channels(1)[0]
        item.name = "东门摄像机"
        let message = MANSCDPMessage.catalogResponses(sn: 1, deviceID: nvr, items: [item], perMessage: 1)[0]
        let gb = try message.encoded(charset: .gb2312)
        #expect(gb.contains(0xB6) && String(bytes: gb, encoding: .utf8) == nil)  // 东 is B6AB in GB2312, not UTF-8
        #expect(try MANSCDPMessage(bytes: gb).catalogItems()[0].name == "东门摄像机")
        #expect(try MANSCDPMessage(bytes: try message.encoded(charset: .utf8)).catalogItems()[0].name == "东门摄像机")
        item.name = "😀"
        let emoji = MANSCDPMessage.catalogResponses(sn: 1, deviceID: nvr, items: [item], perMessage: 1)[0]
        #expect(throws: MANSCDPError.cannotEncode(charset: "GB2312")) { try emoji.encoded(charset: .gb2312) }
    }

    /// Found by the `sip` fuzz target: GBK bytes in GB2312's unassigned rows (AC AB) read as
    /// private-use characters, which EUC-CN would write to other bytes — a body that changes on
    /// the way out. Writing it as GB2312 is refused; UTF-8 still holds it.
    @Test func privateUseCharactersAreNotWrittenAsGB2312() throws {
        let body: [UInt8] = Array("<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Response>\r\n<CmdType>DeviceInfo</CmdType>\r\n<SN>2</SN>\r\n<DeviceID>".utf8)
            + [0xAC, 0xAB, 0xAB, 0xB3] + Array("</DeviceID>\r\n</Response>\r\n".utf8)
        let message = try MANSCDPMessage(bytes: body)
        #expect(throws: MANSCDPError.cannotEncode(charset: "GB2312")) { try message.encoded(charset: .gb2312) }
        #expect(try MANSCDPMessage(bytes: try message.encoded(charset: .utf8)) == message)
    }

    @Test func aRealDeviceBodyWithCommentsAndWhitespaceReads() throws {
        let text = "\r\n<?xml version=\"1.0\" encoding=\"gb2312\" ?>\r\n<!-- hik -->\r\n<Query>\r\n  <CmdType> Catalog </CmdType>\r\n  <SN>7</SN>\r\n  <DeviceID>34020000001320000001</DeviceID>\r\n</Query>\r\n"
        let query = try MANSCDPMessage(bytes: Array(text.utf8))
        #expect(query.kind == .query && query.cmdType == "Catalog" && query.sn == 7)
    }

    @Test(arguments: [
        ("<Notify><CmdType>Keepalive</CmdType><SN>1</SN></Notify>", MANSCDPError.missingField("DeviceID")),
        ("<Notify><CmdType>Keepalive</CmdType><SN>x</SN><DeviceID>1</DeviceID></Notify>", .invalidField(name: "SN", value: "x")),
        ("<Hello><CmdType>K</CmdType></Hello>", .unknownRoot("Hello")),
        ("<Notify><CmdType>K</CmdType>", .xml(line: 1, reason: "<Notify> is not closed")),
        ("<Notify><CmdType>K</Notify>", .xml(line: 1, reason: "</Notify> closes <CmdType>")),
        ("<!DOCTYPE x [<!ENTITY a \"b\">]><Notify/>", .xml(line: 1, reason: "DTDs and declarations are not accepted")),
        ("<Notify>&bogus;</Notify>", .xml(line: 1, reason: "unknown entity &bogus;")),
        ("<Notify/><Notify/>", .xml(line: 1, reason: "content after the root element")),
        ("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><Notify/>", .unsupportedCharset("Shift_JIS")),
        ("", .xml(line: 1, reason: "no root element")),
    ])
    func badBodiesAreTypedErrors(text: String, expected: MANSCDPError) {
        #expect(throws: expected) { try MANSCDPMessage(bytes: Array(text.utf8)) }
    }

    @Test func hostileBodiesAreBounded() {
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: MANSCDPError.tooDeep(limit: 16)) { try MANSCDPMessage(bytes: Array(deep.utf8)) }
        let wide = "<Notify>" + String(repeating: "<a/>", count: 10_001) + "</Notify>"
        #expect(throws: MANSCDPError.tooManyElements(limit: 10_000)) { try MANSCDPMessage(bytes: Array(wide.utf8)) }
        #expect(throws: MANSCDPError.tooLarge(size: 70_000, limit: 65_535)) { try MANSCDPMessage(bytes: [UInt8](repeating: 32, count: 70_000)) }
        #expect(throws: MANSCDPError.undecodable(charset: "UTF-8")) { try MANSCDPMessage(bytes: Array("<Notify>".utf8) + [0xFF, 0xFE]) }
        #expect(throws: MANSCDPError.self) { try MANSCDPMessage(bytes: Array("<Notify>\0</Notify>".utf8)) }
    }
}
