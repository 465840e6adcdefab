@testable import ParkGB28181
import Testing

/// 20-digit ids of GB/T 28181-2016 Appendix D: checked, read apart, generated.
@Suite struct GB28181IDTests {
    @Test func aCameraIdReadsApart() throws {
        let id = try GB28181ID("34020000001320000001")
        #expect(id.centreCode == "34020000" && id.province == "34" && id.city == "02" && id.district == "00" && id.grassRootsUnit == "00")
        #expect(id.industry == 0 && id.typeCode == 132 && id.type == .ipc && id.networkFlag == 0 && id.serial == 1)
        #expect(id.domain == "3402000000" && id.type.isFrontEnd)
        #expect(try GB28181ID("34020000002000000001").type == .sipServer)
        #expect(try GB28181ID("34020000001180000001").type.name == "NVR")
        #expect(try GB28181ID("34020000002160000001").type == .virtualOrganisation)
        #expect(try GB28181ID("34020000001250000001").type.name == "front-end main device (extension)")
    }

    @Test(arguments: [
        ("3402000000132000001", GB28181IDError.wrongLength(19)),
        ("340200000013200000011", .wrongLength(21)),
        ("", .wrongLength(0)),
        ("3402000000132000000A", .nonDigit(position: 20)),
        ("34020000-01320000001", .nonDigit(position: 9)),
        ("３4020000001320000001", .wrongLength(22)),
        ("34020000001100000001", .unknownType(110)),
        ("34020000000000000001", .unknownType(0)),
        ("34020000005000000001", .unknownType(500)),
    ])
    func badIdsSayWhy(text: String, expected: GB28181IDError) {
        #expect(throws: expected) { try GB28181ID(text) }
    }

    @Test func theNthIdOfATypeUnderACentre() throws {
        let ids = try (1...128).map { try GB28181ID.nth($0, of: .camera, centre: "34020000") }
        #expect(ids.first?.rawValue == "34020000001310000001" && ids.last?.rawValue == "34020000001310000128")
        #expect(Set(ids).count == 128 && ids == ids.sorted())
        #expect(try GB28181ID.nth(7, of: .nvr, centre: "44030500", industry: 5, network: 7).rawValue == "44030500051187000007")
        #expect(throws: GB28181IDError.fieldOutOfRange(field: "serial", value: 1_000_000)) {
            try GB28181ID.nth(1_000_000, of: .ipc, centre: "34020000")
        }
        #expect(throws: GB28181IDError.badCentreCode("3402")) { try GB28181ID.nth(1, of: .ipc, centre: "3402") }
    }
}
