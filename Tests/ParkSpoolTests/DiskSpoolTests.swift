import Foundation
import ParkBroker
@testable import ParkSpool
import Testing

/// The spool keeps what was appended, in order, through a killed process (another spool opened on
/// the same directory while the first was never closed), cuts a torn last write off, drops the
/// oldest when full, and rewrites its file without losing a record.
@Suite struct DiskSpoolTests {
    static func record(_ index: Int) -> [UInt8] { Array("reading \(index) {\"values\":{\"energy_kwh\":\(index)}}".utf8) }

    static func contents(_ spool: DiskSpool) -> [String] {
        spool.peek(limit: spool.count).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func tenThousandRecordsSurviveAKilledProcessInOrder() throws {
        let directory = try TemporaryDirectory()
        let spool = try DiskSpool(directory: directory.path("spool"), capacity: 20_000)
        for index in 0..<12_000 { try spool.append(Self.record(index)) }
        try spool.removeFirst(1_000)
        // `spool` is never closed or synced: the files are what a process killed now leaves.
        let reopened = try DiskSpool(directory: directory.path("spool"), capacity: 20_000)
        #expect(reopened.recovered == 11_000 && reopened.count == 11_000 && reopened.tornBytes == 0)
        #expect(Self.contents(reopened) == (1_000..<12_000).map { String(decoding: Self.record($0), as: UTF8.self) })
        #expect(reopened.peek(skip: 10_999, limit: 5).count == 1)
        withExtendedLifetime(spool) {}
    }

    @Test func aTornLastWriteIsCutOffAndTheSpoolGoesOn() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("spool")
        do {
            let spool = try DiskSpool(directory: path, capacity: 100)
            for index in 0..<3 { try spool.append(Self.record(index)) }
        }
        // A crash in the middle of the fourth append: its header says 40 bytes, 6 made it.
        let handle = try #require(FileHandle(forWritingAtPath: path + "/records.0"))
        handle.seekToEndOfFile()
        handle.write(Data([40, 0, 0, 0, 1, 2, 3, 4, 0x41, 0x42]))
        handle.closeFile()
        let spool = try DiskSpool(directory: path, capacity: 100)
        #expect(spool.recovered == 3 && spool.tornBytes == 10)
        try spool.append(Self.record(3))
        let again = try DiskSpool(directory: path, capacity: 100)
        #expect(Self.contents(again) == (0..<4).map { String(decoding: Self.record($0), as: UTF8.self) } && again.tornBytes == 0)
    }

    @Test func aCorruptRecordEndsTheSpoolThere() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("spool")
        do {
            let spool = try DiskSpool(directory: path, capacity: 100)
            for index in 0..<3 { try spool.append(Self.record(index)) }
        }
        // One bit of the second record's payload flipped on the disk: its CRC no longer holds.
        let file = path + "/records.0"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[DiskSpool.frameHeader + Self.record(0).count + DiskSpool.frameHeader + 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let spool = try DiskSpool(directory: path, capacity: 100)
        #expect(spool.recovered == 1 && spool.tornBytes > 0)
    }

    @Test func aFullSpoolDropsTheOldest() throws {
        let directory = try TemporaryDirectory()
        let spool = try DiskSpool(directory: directory.path("spool"), capacity: 5)
        for index in 0..<8 { try spool.append(Self.record(index)) }
        #expect(spool.count == 5 && spool.dropped == 3)
        #expect(Self.contents(spool) == (3..<8).map { String(decoding: Self.record($0), as: UTF8.self) })
        let reopened = try DiskSpool(directory: directory.path("spool"), capacity: 5)
        #expect(reopened.count == 5 && reopened.dropped == 0)
    }

    @Test func removingMostRecordsRewritesTheFileUnderTheNextGeneration() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("spool")
        let spool = try DiskSpool(directory: path, capacity: 20_000)
        for index in 0..<10_000 { try spool.append(Self.record(index)) }
        try spool.removeFirst(9_000)
        try spool.append(Self.record(10_000))
        let files = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        #expect(files == ["head", "records.1"], "\(files)")
        let reopened = try DiskSpool(directory: path, capacity: 20_000)
        #expect(Self.contents(reopened) == (9_000...10_000).map { String(decoding: Self.record($0), as: UTF8.self) })
        try reopened.removeFirst(reopened.count)
        #expect(try DiskSpool(directory: path, capacity: 20_000).count == 0)
    }

    @Test func crcIsTheIEEEOne() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}

extension DiskSpoolTests {
    /// A head pointing past the end of a records file that was cut short is brought back to the
    /// end: the records appended next are found on reopening.
    @Test func aHeadPastTheFilesEndDoesNotHideWhatComesNext() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("spool")
        do {
            let spool = try DiskSpool(directory: path, capacity: 100)
            for index in 0..<3 { try spool.append(Self.record(index)) }
            try spool.removeFirst(2)
        }
        try Data().write(to: URL(fileURLWithPath: path + "/records.0"))
        let spool = try DiskSpool(directory: path, capacity: 100)
        #expect(spool.count == 0)
        try spool.append(Self.record(7))
        // A head whose offset does not even fit an Int (found by the spool fuzz target: it trapped).
        try Data([0, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8)).write(to: URL(fileURLWithPath: path + "/head"))
        #expect(try DiskSpool(directory: path, capacity: 100).count == 0)
        try spool.removeFirst(0)
        #expect(Self.contents(try DiskSpool(directory: path, capacity: 100)) == [String(decoding: Self.record(7), as: UTF8.self)])
    }
}
