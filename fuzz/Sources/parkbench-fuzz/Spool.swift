// The gateway's spool reads back whatever a crash, a full disk or a bad sector left in its files.
import Foundation
@testable import ParkSpool

/// A scratch directory per process: each input rewrites the spool's files in it.
private let spoolDirectory: String = {
    let path = NSTemporaryDirectory() + "parkbench-fuzz-spool-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

let spoolTarget = FuzzTarget(
    name: "spool",
    summary: "DiskSpool opening a records file and head as a crash left them: what it recovers reads back the same, whole, twice, and takes one more record"
) { bytes in
    var choices = Choices(bytes)
    let withHead = choices.byte() & 1 == 1
    let head = Array(choices.take(withHead ? 16 : 0))
    // The head names generation 0 at some offset; the records are the rest of the input.
    let records = Array(choices.take(Int.max))
    let fileManager = FileManager.default
    for name in (try? fileManager.contentsOfDirectory(atPath: spoolDirectory)) ?? [] {
        try? fileManager.removeItem(atPath: spoolDirectory + "/" + name)
    }
    var headBytes = head
    if withHead, headBytes.count == 16 { for index in 0..<8 { headBytes[index] = 0 } }  // generation 0: the file below
    fileManager.createFile(atPath: spoolDirectory + "/head", contents: Data(headBytes))
    fileManager.createFile(atPath: spoolDirectory + "/records.0", contents: Data(records))

    let spool: DiskSpool
    do { spool = try DiskSpool(directory: spoolDirectory, capacity: 1_000_000) } catch {
        check(false, "a spool with readable files must open: \(error)")
        return
    }
    check(spool.tornBytes >= 0 && spool.tornBytes <= records.count, "torn bytes \(spool.tornBytes) of \(records.count)")
    check(spool.count == spool.recovered && spool.recovered * DiskSpool.frameHeader <= records.count, "recovered \(spool.recovered) from \(records.count) bytes")
    let found = spool.peek(limit: spool.count)
    check(found.count == spool.count, "peek gave \(found.count) of \(spool.count)")
    do {
        let again = try DiskSpool(directory: spoolDirectory, capacity: 1_000_000)
        check(again.tornBytes == 0, "the torn tail was cut off the first time")
        check(again.peek(limit: again.count) == found, "a second opening reads the same records")
        try again.append([0x7B, 0x7D])
        let third = try DiskSpool(directory: spoolDirectory, capacity: 1_000_000)
        check(third.peek(limit: third.count) == found + [[0x7B, 0x7D]], "an appended record follows the recovered ones")
        if third.count > 0 {
            try third.removeFirst(1)
            let fourth = try DiskSpool(directory: spoolDirectory, capacity: 1_000_000)
            check(fourth.peek(limit: fourth.count) == Array((found + [[0x7B, 0x7D]]).dropFirst()), "removing the oldest keeps the rest")
        }
    } catch {
        check(false, "reopening the spool it just wrote: \(error)")
    }
    withExtendedLifetime(spool) {}
}
