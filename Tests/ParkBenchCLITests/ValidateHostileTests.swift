import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `parkbench validate` on files written to hurt it (issue 11): an error naming the file and
/// what is wrong, exit 2, and never a hang. The files are generated here, never committed.
@Suite struct ValidateHostileTests {
    let cli = CLITests()

    /// Billion laughs as a mapping key hung `validate` (killed after 60 s); now it stops at the
    /// alias where the expansion passes the budget.
    @Test func billionLaughsAsAKeyIsRefused() throws {
        var text = "kind: smoke-detector\nmodel: laughs\n? \n  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1 ..< 10 {
            text += "  - &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        text += ": 1\n"
        let file = try cli.temporaryFile("laughs.yaml", text)
        let run = try cli.parkbench("validate", file.path)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("\(file.path):9:25: alias expansion exceeds 1000000 nodes"), "\(run.stderr)")
    }

    /// A FIFO and /dev/zero are named for what they are ("You don't have permission" before),
    /// and the FIFO, which has no writer, does not block the read.
    @Test func fifoAndDeviceAreNamed() throws {
        let fifo = try cli.temporaryFile("placeholder", "").deletingLastPathComponent().appendingPathComponent("pipe.yaml").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let run = try cli.parkbench("validate", fifo, "/dev/zero")
        #expect(run.status == 2)
        #expect(run.stderr == """
            \(fifo):1:1: cannot read file: not a regular file (a FIFO)
            /dev/zero:1:1: cannot read file: not a regular file (a character device)
            2 of 2 files invalid

            """)
    }

    /// A file over PARKBENCH_MAX_FILE_BYTES is refused with its size, the limit and the variable.
    @Test func fileSizeLimitIsEnforcedAndNamed() throws {
        let file = try cli.temporaryFile("demo-copy.yaml", try String(contentsOfFile: "\(CLITests.packageRoot.path)/conformance/parks/demo.yaml", encoding: .utf8))
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int)
        let run = try cli.parkbench(arguments: ["validate", file.path], environment: ["PARKBENCH_MAX_FILE_BYTES": "1024"])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix(
            "\(file.path):1:1: cannot read file: it is \(size) bytes, more than the 1024 bytes a YAML file may have (set PARKBENCH_MAX_FILE_BYTES to allow more)"),
            "\(run.stderr)")
        #expect(try cli.parkbench("validate", file.path).status == 0)
    }

    /// A huge unknown key is quoted by its start, without a "did you mean" over all of it.
    @Test func hugeUnknownKeyIsShortened() throws {
        let key = String(repeating: "k", count: 1_000_000)
        let file = try cli.temporaryFile("key.yaml", "kind: smoke-detector\nmodel: huge-key\n? \(key)\n: 1\n")
        let run = try cli.parkbench("validate", file.path)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("\(file.path):3:3: unknown key '\(String(repeating: "k", count: 64))… (999936 more bytes)'; expected one of:"))
        #expect(run.stderr.utf8.count < 1_000, "the key is not printed whole")
    }

    /// Three million devices (1.2 GB just to validate) are refused from the populations' counts.
    @Test func parkOverTheDeviceLimitIsRefused() throws {
        let file = try cli.temporaryFile("huge-park.yaml", """
            park: huge
            zones: [{id: A, floors: 3}]
            populations:
              - {model: acme-sd100, zone: A, floors: [1, 2, 3], count: 1000000, id: "s-{floor}-{n}"}
            """)
        let run = try cli.parkbench("validate", file.path)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix(
            "\(file.path):4:3: populations: the populations make 3000000 devices (count × floors, summed); a park file may have at most 1000000 (set PARKBENCH_MAX_PARK_DEVICES to allow more)"),
            "\(run.stderr)")
    }
}
