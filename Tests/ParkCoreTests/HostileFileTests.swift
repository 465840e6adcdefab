import Foundation
import Testing
@testable import ParkCore
@testable import ParkProfiles

#if canImport(Glibc)
import Glibc
#endif

/// Files written to hurt the loaders (issue 11): each gets a clear error with its place, never a
/// hang, a crash or a gigabyte. The hostile inputs are generated here, never committed.
@Suite struct HostileFileTests {
    let kinds = try! DeviceKindRegistry([TickerKind()])

    func catalog() throws -> ModelCatalog {
        ModelCatalog([try ModelProfile.parse("kind: ticker\nmodel: tick-1\n", file: "tick-1.yaml", kinds: kinds)])
    }

    func issues(_ body: () throws -> Void) -> [String] {
        do { try body(); return [] } catch let error as ProfileErrors { return error.issues.map(\.description) } catch {
            return ["unexpected error: \(error)"]
        }
    }

    /// A fresh directory for files a test writes.
    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parkbench-hostile-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Billion laughs: ten levels of ten aliases of the level below, 10¹⁰ nodes expanded, each
    /// level a list item `  - &lK [...]` (so the aliases of level K are on line `first + K`).
    static func laughs(indent: String = "  ") -> String {
        var lines = ["\(indent)- &l0 [" + Array(repeating: "lol", count: 10).joined(separator: ", ") + "]"]
        for level in 1 ..< 10 {
            lines.append("\(indent)- &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Defect 7 — aliases

    /// The hang of issue 11: billion laughs as a mapping key. Yams hashes every key to check
    /// for duplicates, which walks the whole expansion; now the budget stops it at the alias
    /// where it runs out (the 4th of level 5: inside a key each node counts twice).
    @Test(.timeLimit(.minutes(1))) func billionLaughsAsAKeyIsRefusedAtTheAlias() {
        let text = "kind: ticker\nmodel: m\n? \n" + Self.laughs() + ": 1\n"
        let found = issues { _ = try ModelProfile.parse(text, file: "laughs.yaml", kinds: kinds) }
        #expect(found == [
            "laughs.yaml:9:25: alias expansion exceeds 1000000 nodes; a ParkBench file needs far fewer (is this a billion-laughs document?)",
        ])
    }

    /// One budget covers values as well: the same laughs under an unknown key (which Yams never
    /// walked, so this used to pass as just an unknown key) are refused the same way.
    @Test func billionLaughsAsAValueIsRefusedToo() {
        let text = "kind: ticker\nmodel: m\nlaughs:\n" + Self.laughs()
        let found = issues { _ = try ModelProfile.parse(text, file: "laughs.yaml", kinds: kinds) }
        #expect(found == [
            "laughs.yaml:9:45: alias expansion exceeds 1000000 nodes; a ParkBench file needs far fewer (is this a billion-laughs document?)",
        ])
    }

    /// What is counted, exactly: an alias costs its anchor's nodes, twice as a key.
    @Test func aliasBudgetCountsExpandedNodes() {
        let value = "a: &a [1, 2, 3]\nb: *a\n"
        #expect(YAMLAliasBudget.firstExcess(in: value, budget: 4) == nil)
        #expect(YAMLAliasBudget.firstExcess(in: value, budget: 3) == .init(line: 2, column: 4, budget: 3))
        let key = "a: &a [1, 2, 3]\n? *a\n: x\n"
        #expect(YAMLAliasBudget.firstExcess(in: key, budget: 8) == nil)
        #expect(YAMLAliasBudget.firstExcess(in: key, budget: 7) == .init(line: 2, column: 3, budget: 7))
        // Exponential sizes saturate instead of overflowing.
        var deep = "l0: &l0 [x, x]\n"
        for level in 1 ... 80 { deep += "l\(level): &l\(level) [*l\(level - 1), *l\(level - 1)]\n" }
        #expect(YAMLAliasBudget.firstExcess(in: deep, budget: .max - 1)?.line == 62)
    }

    /// Aliases used as intended still work: one parameter block shared by two populations.
    @Test func aliasesWithinTheBudgetStillLoad() throws {
        let park = try ParkFile.parse("""
            park: p
            populations:
              - {model: tick-1, count: 1, id: "a-{n}", parameters: &fast {period: 2s}}
              - {model: tick-1, count: 1, id: "b-{n}", parameters: *fast}
            """, file: "p.yaml", catalog: try catalog(), kinds: kinds)
        #expect(park.devices.map(\.parameters) == [["period": "2s"], ["period": "2s"]])
    }

    /// Telling a file's type reads only the top-level keys (the loader composes the document
    /// once, not twice); what it cannot read that way is still explained.
    @Test func documentTypeComesFromTheTopLevelKeys() throws {
        #expect(try ProfileDocumentType.detect("park: p\nlaughs:\n" + Self.laughs(), file: "f").get() == .park)
        #expect(try ProfileDocumentType.detect("? [a, b]\n: 1\nsuite: s\n", file: "f").get() == .suite)
        guard case .failure(let errors) = ProfileDocumentType.detect("park: [p\n", file: "f.yaml") else { Issue.record(); return }
        #expect(errors.description.hasPrefix("f.yaml:2:1: YAML syntax error:"))
        guard case .failure(let empty) = ProfileDocumentType.detect("", file: "e.yaml") else { Issue.record(); return }
        #expect(empty.description == "e.yaml:1:1: the file is empty; expected a YAML mapping")
    }

    // MARK: Defect 8 — huge keys

    /// A 200 KB unknown key gets no "did you mean" (its edit distance against each allowed key
    /// cost the product of the lengths: minutes and a gigabyte for a 50 MB file) and is quoted
    /// by its start only.
    @Test func hugeUnknownKeyIsShortenedAndGetsNoSuggestion() {
        let key = String(repeating: "x", count: 200_000)
        let found = issues { _ = try ModelProfile.parse("kind: ticker\nmodel: m\n? \(key)\n: 1\n", file: "k.yaml", kinds: kinds) }
        #expect(found == [
            "k.yaml:3:3: unknown key '\(String(repeating: "x", count: 64))… (199936 more bytes)'; expected one of: kind, model, vendor, title, parameters, mqtt, modbus, dlt645, gb28181, ocpp, http_push, vda5050",
        ])
        #expect(MappingReader.closest(to: "parametrs", in: ModelProfile.keys) == "parameters")
        #expect(MappingReader.closest(to: "parameters" + String(repeating: "s", count: 60), in: ModelProfile.keys) == nil)
    }

    /// A file of thousands of unknown keys reports the first hundred and how many more, instead
    /// of a line (and a "did you mean") for each.
    @Test func problemsPerFileAreCapped() {
        let text = "kind: ticker\nmodel: m\n" + (1 ... 150).map { "extra\($0): 1\n" }.joined()
        let found = issues { _ = try ModelProfile.parse(text, file: "many.yaml", kinds: kinds) }
        #expect(found.count == 101)
        #expect(found.first == "many.yaml:3:1: unknown key 'extra1'; expected one of: kind, model, vendor, title, parameters, mqtt, modbus, dlt645, gb28181, ocpp, http_push, vda5050")
        #expect(found.last == "many.yaml:102:1: 50 more problems not shown (only the first 100 are kept)")
    }

    // MARK: Defect 9 — many zones, many devices

    /// Zones are checked with a dictionary: a duplicate far from its first definition is still
    /// found, and 100,000 zones load. When each zone searched the zones before it, 20,000 took
    /// 16 s and 50,000 took 89 s, so 100,000 would take about six minutes: the limit below is
    /// one only that would reach (this takes a few seconds in a debug build).
    @Test(.timeLimit(.minutes(1))) func manyZonesLoadAndDuplicatesAreFound() throws {
        var text = "park: p\nzones:\n"
        for index in 0 ..< 100_000 { text += "  - {id: Z\(index), floors: 2}\n" }
        text += "  - {id: Z7, floors: 1}\npopulations:\n  - {model: tick-1, zone: Z99999, floor: 2, count: 1, id: \"t-{n}\"}\n"
        let found = issues { _ = try ParkFile.parse(text, file: "z.yaml", catalog: try catalog(), kinds: kinds) }
        #expect(found == ["z.yaml:100003:5: zones[100000]: zone 'Z7' is defined twice"])
    }

    /// A park's device count is added up from the populations before any device is built.
    @Test func deviceCountIsCappedBeforeTheDevicesExist() throws {
        let text = """
            park: p
            zones:
              - {id: A, floors: 2}
            populations:
              - {model: tick-1, zone: A, floors: [1, 2], count: 3, id: "a-{floor}-{n}"}
              - {model: tick-1, count: 5, id: "b-{n}"}
            """
        let found = issues { _ = try ParkFile.parse(text, file: "p.yaml", catalog: try catalog(), kinds: kinds, maximumDevices: 10) }
        #expect(found == [
            "p.yaml:5:3: populations: the populations make 11 devices (count × floors, summed); a park file may have at most 10 (set PARKBENCH_MAX_PARK_DEVICES to allow more)",
        ])
        #expect(try ParkFile.parse(text, file: "p.yaml", catalog: try catalog(), kinds: kinds, maximumDevices: 11).devices.count == 11)

        // A thousand million devices: refused at once (building them would never finish).
        let floors = (1 ... 1000).map(String.init).joined(separator: ", ")
        let huge = "park: p\npopulations:\n  - {model: tick-1, floors: [\(floors)], count: 1000000, id: \"h-{floor}-{n}\"}\n"
        let refused = issues {
            _ = try ParkFile.parse(huge, file: "h.yaml", catalog: try catalog(), kinds: kinds, maximumDevices: ParkFile.defaultMaximumDevices)
        }
        #expect(refused.count == 1)
        #expect(refused.first?.hasPrefix("h.yaml:3:3: populations: the populations make 1000000000 devices") == true)
    }

    // MARK: Reading files

    /// A FIFO is named as one, without opening it (which would wait for a writer forever); so
    /// are a character device and a directory. Foundation said "You don't have permission".
    @Test(.timeLimit(.minutes(1))) func onlyRegularFilesAreRead() throws {
        let fifo = try directory().appendingPathComponent("pipe.yaml").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(issues { _ = try ProfileText.read(fifo) } == ["\(fifo):1:1: cannot read file: not a regular file (a FIFO)"])
        #expect(issues { _ = try ProfileText.read("/dev/zero") } == ["/dev/zero:1:1: cannot read file: not a regular file (a character device)"])
        let folder = try directory().path
        #expect(issues { _ = try ParkFile.load(file: folder, catalog: try catalog(), kinds: kinds) }
            == ["\(folder):1:1: cannot read file: not a regular file (a directory)"])
        #expect(issues { _ = try ProfileText.read("/nonexistent/park.yaml") } == ["/nonexistent/park.yaml:1:1: cannot read file: No such file or directory"])
    }

    /// A file over the size cap is refused before it is read, naming the size, the cap and how
    /// to raise it.
    @Test func fileSizeIsCapped() throws {
        let file = try directory().appendingPathComponent("big.yaml")
        try Data(("park: p\n" + String(repeating: "# padding\n", count: 200)).utf8).write(to: file)
        #expect(issues { _ = try ProfileText.read(file.path, maximumBytes: 1000) } == [
            "\(file.path):1:1: cannot read file: it is 2008 bytes, more than the 1000 bytes a YAML file may have (set PARKBENCH_MAX_FILE_BYTES to allow more)",
        ])
        #expect(try ProfileText.read(file.path, maximumBytes: 2008).utf8.count == 2008)
        #expect(try ProfileText.maximumBytes(for: "f", environment: [:]) == 16 << 20)
        #expect(try ProfileText.maximumBytes(for: "f", environment: ["PARKBENCH_MAX_FILE_BYTES": "4096"]) == 4096)
        #expect(issues { _ = try ProfileText.maximumBytes(for: "f.yaml", environment: ["PARKBENCH_MAX_FILE_BYTES": "16M"]) } == [
            "f.yaml:1:1: PARKBENCH_MAX_FILE_BYTES is '16M'; expected a whole number greater than 0",
        ])
    }

    /// Bytes that are not UTF-8 are reported where they are.
    @Test func nonUTF8IsReportedAtItsPlace() throws {
        let file = try directory().appendingPathComponent("latin1.yaml")
        try Data("park: p\ntitle: ".utf8 + [0xC9] + Data("cole\n".utf8)).write(to: file)
        #expect(issues { _ = try ProfileText.read(file.path) } == [
            "\(file.path):2:8: cannot read the file as UTF-8 text: byte 15 is not valid UTF-8",
        ])
    }
}
