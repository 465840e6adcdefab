import Foundation
import Testing
@testable import ParkCore
import ParkPluginJSON

/// The device-kind plugin system: the example Swift plugin built by SwiftPM, and small C
/// plugins compiled at test time to prove the boundary really is a C ABI and that bad
/// libraries are refused with clear messages.
@Suite struct PluginTests {
    // MARK: The example Swift plugin (people-counter)

    /// The example library loads and describes its kind with the keys ParkCore decodes.
    @Test func exampleDescriptorDecodes() throws {
        let kind = try PluginLoader.load(path: try examplePluginPath())
        let descriptor = kind.descriptor
        #expect(descriptor.name == "people-counter")
        #expect(descriptor.points.map(\.name) == ["count_in", "count_out", "occupancy"])
        #expect(descriptor.points.allSatisfy { $0.type == .int })
        #expect(descriptor.events.map(\.name) == ["over-capacity", "capacity-ok"])
        #expect(descriptor.commands.map(\.name) == ["reset"])
        #expect(descriptor.stimuli.map(\.name) == ["crowd"])
        #expect(descriptor.stimulus(named: "crowd")?.arguments.first?.type == .int)
        let defaults = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults["arrivals_per_hour"] == "120")
        #expect(defaults["capacity"] == "50")
        #expect(defaults["report_interval"] == "1m")
        #expect(descriptor.parameter(named: "report_interval")?.type == .duration)
        #expect(descriptor.sources.contains { $0.contains("L3730-3734") })
    }

    /// Loading a library twice gives the same kind without running its entry point again.
    @Test func loadingTwiceReturnsTheSameLibrary() throws {
        let path = try examplePluginPath()
        let first = try PluginLoader.load(path: path)
        let second = try PluginLoader.load(path: path)
        #expect(first.library === second.library)
    }

    /// Two hours of virtual time: one telemetry report a minute per device, with counted values
    /// next to the truth, counting at least 99% accurate as seed 004 L3734 asks.
    @Test func exampleRunsInVirtualTime() throws {
        let kind = try PluginLoader.load(path: try examplePluginPath())
        let engine = VirtualTimeEngine()
        for device in try peopleCounterPlan(kind, count: 3, seed: 7) { try engine.add(device) }
        engine.advance(by: .hours(2))

        let telemetry = try engine.ledger.records().filter { $0.channel == .telemetry }
        let byDevice = Dictionary(grouping: telemetry, by: \.deviceID)
        #expect(byDevice.count == 3)
        for (device, reports) in byDevice {
            #expect((119 ... 121).contains(reports.count), "device \(device) sent \(reports.count) reports")
            let times = reports.map(\.time.monotonic.nanoseconds)
            #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 == 60_000_000_000 })
            for report in reports {
                #expect(report.kind == "people-counter")
                #expect(report.readings.map(\.point) == ["count_in", "count_out", "occupancy"])
                #expect(report.readings.allSatisfy { $0.value.type == .int && $0.truth?.type == .int })
            }
            let last = try #require(reports.last)
            let counted = try #require(last.readings.first?.value.doubleValue)
            let truth = try #require(last.readings.first?.truth?.doubleValue)
            // 120 arrivals an hour for two hours.
            #expect(truth > 150 && truth < 350, "device \(device) saw \(truth) arrivals")
            #expect(counted <= truth && counted / truth >= 0.97)
            // Ground truth is consistent: occupancy is arrivals minus departures.
            let truths = last.readings.compactMap { $0.truth?.doubleValue }
            #expect(truths[2] == truths[0] - truths[1])
        }
    }

    /// One seed gives one run, byte for byte, through the plugin's use of the host's random
    /// stream; another seed gives another run.
    @Test func exampleIsReproducible() throws {
        let kind = try PluginLoader.load(path: try examplePluginPath())
        func ledgerLines(seed: UInt64) throws -> [String] {
            let engine = VirtualTimeEngine()
            for device in try peopleCounterPlan(kind, count: 4, seed: seed) { try engine.add(device) }
            engine.advance(by: .hours(2))
            try engine.apply(Stimulus("crowd", arguments: ["people": .int(30)]), to: "counter-1")
            engine.advance(by: .minutes(30))
            return try engine.ledger.records().map(\.jsonLine)
        }
        let first = try ledgerLines(seed: 42)
        #expect(first.count > 400)
        #expect(try ledgerLines(seed: 42) == first)
        #expect(try ledgerLines(seed: 43) != first)
    }

    /// Parameters reach the plugin as text; durations as nanoseconds, which the kit parses.
    @Test func profileParametersReachThePlugin() throws {
        let kind = try PluginLoader.load(path: try examplePluginPath())
        let engine = VirtualTimeEngine()
        try engine.add(try peopleCounterPlan(kind, count: 1, overrides: ["report_interval": "30s"]))
        engine.advance(by: .hours(1))
        let telemetry = try engine.ledger.records().filter { $0.channel == .telemetry }
        #expect((119 ... 121).contains(telemetry.count))

        let config = PluginDeviceKind.configJSON(
            for: DeviceSetup(
                id: "c", parameters: try DeviceParameters(descriptor: kind.descriptor, overrides: ["mean_stay": "1h30m"]),
                random: SeededRandom(seed: 1), placement: Placement(zone: "A", floor: 2)),
            descriptor: kind.descriptor)
        #expect(config.contains("\"mean_stay\":\"5400000000000ns\""))
        #expect(config.contains("\"capacity\":\"50\""))
        #expect(config.contains("\"zone\":\"A\"") && config.contains("\"floor\":2"))
    }

    /// Plugin devices run on the real-time engine's event loops too, created on those threads.
    @Test func exampleRunsInRealTime() async throws {
        let kind = try PluginLoader.load(path: try examplePluginPath())
        let plan = try peopleCounterPlan(kind, count: 4, seed: 5, overrides: ["report_interval": "10ms"])
        let engine = try await RealTimeEngine(plan: plan, threads: 2)
        await engine.start()
        try await Task.sleep(for: .milliseconds(300))
        let reset = try await engine.send(DeviceCommand("reset"), to: "counter-2")
        await engine.stop()
        #expect(reset.outcome == .accepted)
        let telemetry = try engine.ledger.records().filter { $0.channel == .telemetry }
        #expect(Set(telemetry.map(\.deviceID)).count == 4)
        #expect(telemetry.count >= 20, "only \(telemetry.count) reports in 300 ms")
    }

    /// A config the plugin refuses surfaces as a DeviceError with the plugin's own words.
    @Test func pluginCreateFailureBecomesDeviceError() throws {
        let kind = try PluginLoader.load(path: try examplePluginPath())
        // Parameters given directly skip validation, so the plugin sees one missing.
        let setup = DeviceSetup(
            id: "broken-counter", parameters: DeviceParameters(values: ["capacity": .int(5)]), random: SeededRandom(seed: 1))
        let error = #expect(throws: DeviceError.self) { _ = try kind.makeDevice(setup) }
        #expect(error?.message.contains("arrivals_per_hour") == true, "\(String(describing: error))")
    }

    /// A crowd pushes occupancy over capacity; reset is accepted and clears it; unknown
    /// commands are rejected with a reason and unknown or malformed stimuli throw.
    @Test func stimuliAndCommands() throws {
        let kind = try PluginLoader.load(path: try examplePluginPath())
        let engine = VirtualTimeEngine()
        // Nobody arrives on their own and every crossing is counted, so the numbers are exact.
        try engine.add(try peopleCounterPlan(
            kind, count: 1, overrides: ["arrivals_per_hour": "0", "capacity": "10", "miss_rate": "0"]))
        engine.advance(by: .minutes(5))

        try engine.apply(Stimulus("crowd", arguments: ["people": .int(15)]), to: "counter-1")
        let overCapacity = try #require(try engine.ledger.records().first { $0.name == "over-capacity" })
        #expect(overCapacity.channel == .event)
        #expect(overCapacity.readings == [Reading("occupancy", .int(15), truth: .int(15))])

        let reset = try engine.send(DeviceCommand("reset"), to: "counter-1")
        #expect(reset.outcome == .accepted)
        #expect(reset.readings.first == Reading("count_in", .int(15), truth: .int(15)))
        #expect(try engine.ledger.records().contains { $0.name == "capacity-ok" })

        let unknown = try engine.send(DeviceCommand("explode"), to: "counter-1")
        guard case .rejected(let reason) = unknown.outcome else {
            Issue.record("an unknown command was accepted")
            return
        }
        #expect(reason.contains("explode") && reason.contains("reset"), "\(reason)")

        let unknownStimulus = #expect(throws: EngineError.self) {
            try engine.apply(Stimulus("earthquake"), to: "counter-1")
        }
        #expect("\(String(describing: unknownStimulus))".contains("no stimulus 'earthquake'"))

        let missingArgument = #expect(throws: EngineError.self) {
            try engine.apply(Stimulus("crowd"), to: "counter-1")
        }
        #expect("\(String(describing: missingArgument))".contains("'people'"))

        let outOfRange = #expect(throws: EngineError.self) {
            try engine.apply(Stimulus("crowd", arguments: ["people": .int(0)]), to: "counter-1")
        }
        #expect("\(String(describing: outOfRange))".contains("between 1 and 100000"))
    }

    // MARK: C plugins built at test time

    /// A plugin written in plain C loads, emits on start, has its timer fired, answers
    /// commands, rejects stimuli, and cannot crash the host with a malformed emission.
    @Test func pluginWrittenInCLoadsAndRuns() throws {
        let directory = try temporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = try compileCPlugin(named: "libParkPluginBeacon", source: CPluginSource.valid, in: directory)
        let kind = try PluginLoader.load(path: path)
        #expect(kind.descriptor.name == "c-beacon")
        #expect(kind.descriptor.events.map(\.name) == ["hello"])

        let engine = VirtualTimeEngine()
        let setup = DeviceSetup(
            id: "beacon-1", parameters: try DeviceParameters(descriptor: kind.descriptor), random: SeededRandom(seed: 3))
        try engine.add(PlannedDevice(kind: kind, setup: setup))
        engine.advance(by: .seconds(2))

        let emissions = try engine.ledger.records().filter { $0.entry == .emission }
        // The malformed emission (an unknown channel) was dropped; the rest arrived in order.
        #expect(emissions.map(\.name) == ["hello", "telemetry"])
        // `2` for a point declared double is a double; the timer tag and clock came through.
        #expect(emissions.first?.readings == [Reading("level", .double(2))])
        #expect(emissions.last?.readings == [Reading("tag", .int(7)), Reading("now_ns", .int(1_000_000_000))])
        #expect(emissions.last?.time.monotonic.nanoseconds == 1_000_000_000)

        let answer = try engine.send(DeviceCommand("ping"), to: "beacon-1")
        #expect(answer.outcome == .rejected(reason: "c-beacon has no commands"))
        let stimulusError = #expect(throws: EngineError.self) { try engine.apply(Stimulus("poke"), to: "beacon-1") }
        #expect("\(String(describing: stimulusError))".contains("c-beacon takes no stimuli"))
    }

    /// A plugin that fills in another ABI version is refused, naming both versions.
    @Test func wrongABIVersionIsRefused() throws {
        let directory = try temporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = try compileCPlugin(named: "libParkPluginFuture", source: CPluginSource.abiVersion99, in: directory)
        let error = #expect(throws: PluginError.self) { try PluginLoader.load(path: path) }
        #expect(error?.problem == .abiMismatch(pluginVersion: 99))
        let message = error?.description ?? ""
        #expect(message.contains(path))
        #expect(message.contains("built for plugin ABI 99; this parkbench speaks 1"), "\(message)")
    }

    /// A library exporting only a newer entry point is refused as built for a newer ABI.
    @Test func newerEntryPointOnlyIsRefused() throws {
        let directory = try temporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = try compileCPlugin(named: "libParkPluginV2", source: CPluginSource.entryV2Only, in: directory)
        let error = #expect(throws: PluginError.self) { try PluginLoader.load(path: path) }
        #expect(error?.problem == .noEntryPoint(otherVersions: [2]))
        let message = error?.description ?? ""
        #expect(message.contains(path))
        #expect(message.contains("newer ParkBench plugin ABI"), "\(message)")
        #expect(message.contains("parkbench_plugin_v2") && message.contains("not parkbench_plugin_v1"), "\(message)")
    }

    /// A shared library with no entry point at all is "not a ParkBench plugin".
    @Test func libraryWithoutEntryPointIsRefused() throws {
        let directory = try temporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = try compileCPlugin(
            named: "libParkPluginNothing", source: "int unrelated(void) { return 1; }\n", in: directory)
        let error = #expect(throws: PluginError.self) { try PluginLoader.load(path: path) }
        #expect(error?.problem == .noEntryPoint(otherVersions: []))
        #expect(error?.description.contains("not a ParkBench device-kind plugin") == true)
    }

    /// NULL callbacks, a refusing entry point and a broken descriptor each get their own message.
    @Test func incompletePluginsAreRefused() throws {
        let directory = try temporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let missing = try compileCPlugin(named: "libParkPluginHollow", source: CPluginSource.missingCallbacks, in: directory)
        let missingError = #expect(throws: PluginError.self) { try PluginLoader.load(path: missing) }
        #expect(missingError?.problem == .missingCallbacks(["create", "command"]))

        let refusing = try compileCPlugin(named: "libParkPluginRefuses", source: CPluginSource.refuses, in: directory)
        let refusedError = #expect(throws: PluginError.self) { try PluginLoader.load(path: refusing) }
        #expect(refusedError?.problem == .entryRefused(status: 5))
        #expect(refusedError?.description.contains("returned 5") == true)

        let badKind = try compileCPlugin(named: "libParkPluginBadKind", source: CPluginSource.badDescriptor, in: directory)
        let badKindError = #expect(throws: PluginError.self) { try PluginLoader.load(path: badKind) }
        let message = badKindError?.description ?? ""
        #expect(message.contains("unusable kind descriptor") && message.contains("points[0]"), "\(message)")
    }

    /// A file that is not a shared library fails in dlopen, and the message names it.
    @Test func nonLibraryFileIsRefused() throws {
        let directory = try temporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("libParkPluginBroken.so").path
        try "this is not an ELF file\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: PluginError.self) { try PluginLoader.load(path: path) }
        guard case .notLoadable(let reason)? = error?.problem else {
            Issue.record("expected a dlopen failure, got \(String(describing: error))")
            return
        }
        #expect(!reason.isEmpty)
        #expect(error?.description.contains("plugin '\(path)' cannot be loaded") == true)

        let missing = #expect(throws: PluginError.self) { try PluginLoader.load(path: directory.path + "/libParkPluginNone.so") }
        #expect(missing?.problem == .fileMissing)
    }

    /// Discovery loads every `libParkPlugin*.so` in a directory, reports each bad one without
    /// giving up on the rest, ignores other files, and takes explicit file paths too.
    @Test func discoveryReportsEachLibrary() throws {
        let directory = try temporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        _ = try compileCPlugin(named: "libParkPluginGood", source: CPluginSource.valid, in: directory)
        _ = try compileCPlugin(named: "libParkPluginFuture", source: CPluginSource.abiVersion99, in: directory)
        try "junk".write(to: directory.appendingPathComponent("libParkPluginJunk.so"), atomically: true, encoding: .utf8)
        try "ignored".write(to: directory.appendingPathComponent("README.txt"), atomically: true, encoding: .utf8)
        let example = try examplePluginPath()

        let discovery = PluginLoader.discover(searchPaths: [directory.path, example, directory.path + "/nowhere"])
        #expect(discovery.kinds.map(\.descriptor.name) == ["c-beacon", "people-counter"])
        #expect(discovery.failures.count == 3, "\(discovery.failures)")
        #expect(discovery.failures.contains { $0.problem == .abiMismatch(pluginVersion: 99) })
        #expect(discovery.failures.contains { $0.path.hasSuffix("libParkPluginJunk.so") })
        #expect(discovery.failures.contains { $0.problem == .fileMissing && $0.path.hasSuffix("nowhere") })
    }

    /// The default search list is PARKBENCH_PLUGIN_PATH's entries, then the executable's directory.
    @Test func defaultSearchPathsComeFromEnvironmentThenExecutable() throws {
        let paths = PluginLoader.defaultSearchPaths(environment: ["PARKBENCH_PLUGIN_PATH": "/opt/a::/opt/b"])
        #expect(Array(paths.prefix(2)) == ["/opt/a", "/opt/b"])
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        #expect(paths.last == (executable as NSString).deletingLastPathComponent)
    }

    /// The host's JSON reader keeps integers apart from doubles and never traps on bad input.
    @Test func hostJSONParserIsStrict() throws {
        let value = try PluginJSONParser.parse(#"{"a":[1,-2.5e3,true,null,"x\u00e9\n"],"b":100000000000000000000}"#)
        #expect(value == .object([
            "a": .array([.integer(1), .number(-2500), .bool(true), .null, .string("xé\n")]),
            "b": .number(1e20),
        ]))
        for bad in ["", "{", #"{"a":}"#, "[1,]", "01x", #""\q""#, "[" + String(repeating: "[", count: 100)] {
            #expect(throws: PluginJSONError.self, "\(bad)") { try PluginJSONParser.parse(bad) }
        }
    }
}

// MARK: - Fixtures

/// The example plugin built by SwiftPM: next to the test binary, in the build products directory.
private func examplePluginPath() throws -> String {
    try builtPluginPath(product: "ParkPluginExample")
}

/// A plugin library product of this package (`libParkPlugin<Name>.so`) as SwiftPM built it:
/// next to the test binary, in the build products directory. Shared with the other plugin suites.
func builtPluginPath(product: String) throws -> String {
    let name = "lib\(product).so"
    var starts: [URL] = []
    if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        starts.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
    }
    starts.append(Bundle.main.bundleURL)
    for start in starts {
        var directory = start
        // Walk up at most a few levels: from the test binary (or a bundle inside the products
        // directory) to `.build/<triple>/debug`.
        for _ in 0 ..< 4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
    }
    Issue.record(
        "\(name) is not built: run `swift build --product \(product)` (with the same --scratch-path) before `swift test`")
    throw PluginFixtureError.pluginNotBuilt(product)
}

private enum PluginFixtureError: Error {
    case pluginNotBuilt(String)
    case compilerFailed(String)
}

/// `count` people counters, `counter-1`…, each with its own random stream of run `seed`.
private func peopleCounterPlan(
    _ kind: PluginDeviceKind, count: Int, seed: UInt64 = 1, overrides: [String: String] = [:]
) throws -> [PlannedDevice] {
    let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: overrides)
    return (1 ... count).map { index in
        let id = "counter-\(index)"
        return PlannedDevice(
            kind: kind,
            setup: DeviceSetup(id: id, parameters: parameters, random: SeededRandom.forDevice(id, runSeed: seed)))
    }
}

private func peopleCounterPlan(_ kind: PluginDeviceKind, count: Int, overrides: [String: String]) throws -> PlannedDevice {
    try #require(try peopleCounterPlan(kind, count: count, seed: 1, overrides: overrides).first)
}

private func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("parkbench-plugin-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Removes a test's directory. Libraries loaded from it stay mapped (they are never closed), so
/// removing the files is safe.
private func removeTemporaryDirectory(_ directory: URL) {
    try? FileManager.default.removeItem(at: directory)
}

/// The repository root, found from this file's path (Tests/ParkCoreTests/PluginTests.swift).
private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Compiles `source` against the real ABI header into `<directory>/<name>.so` with `cc`.
private func compileCPlugin(named name: String, source: String, in directory: URL) throws -> String {
    let sourceURL = directory.appendingPathComponent("\(name).c")
    let library = directory.appendingPathComponent("\(name).so").path
    try source.write(to: sourceURL, atomically: true, encoding: .utf8)
    let include = repositoryRoot.appendingPathComponent("Sources/CParkPlugin/include").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["cc", "-shared", "-fPIC", "-Wall", "-Werror", "-I", include, "-o", library, sourceURL.path]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        Issue.record("cc failed for \(name): \(output)")
        throw PluginFixtureError.compilerFailed(output)
    }
    return library
}

/// C sources of test plugins. Only `parkbench_plugin.h` is shared with the host.
private enum CPluginSource {
    /// A complete kind: on start it emits one malformed and one good event and sets a 1 s
    /// timer; the timer reports its tag and the clock; commands and stimuli are refused.
    static let valid = #"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include "parkbench_plugin.h"

        static const pb_host_v1 *host;
        static const char kind[] =
            "{\"name\":\"c-beacon\",\"summary\":\"A minimal kind written in C\",\"sources\":[],"
            "\"points\":[{\"name\":\"level\",\"type\":\"double\",\"summary\":\"A level\"}],"
            "\"events\":[{\"name\":\"hello\",\"severity\":\"info\",\"summary\":\"Sent on start\"}],"
            "\"commands\":[],\"stimuli\":[],\"parameters\":[]}";

        typedef struct { int timers; } beacon;

        static void send(pb_call *call, const char *json) { host->emit(call, json, strlen(json)); }

        static void *create(pb_call *call, const char *json, size_t length) {
            (void)call; (void)json; (void)length;
            return calloc(1, sizeof(beacon));
        }
        static void destroy(void *device) { free(device); }
        static void start(void *device, pb_call *call) {
            (void)device;
            send(call, "{\"channel\":\"telepathy\",\"name\":\"oops\",\"readings\":[]}");
            send(call, "{\"channel\":\"event\",\"name\":\"hello\",\"readings\":[{\"point\":\"level\",\"value\":2}]}");
            send(call, "{\"channel\":\"event\",");
            host->schedule(call, 1000000000ull, 7);
        }
        static void timer(void *device, pb_call *call, uint32_t tag) {
            char json[200];
            ((beacon *)device)->timers++;
            snprintf(json, sizeof json,
                "{\"channel\":\"telemetry\",\"name\":\"telemetry\",\"readings\":"
                "[{\"point\":\"tag\",\"value\":%u},{\"point\":\"now_ns\",\"value\":%llu}]}",
                (unsigned)tag, (unsigned long long)host->now_ns(call));
            send(call, json);
        }
        static void stimulus(void *device, pb_call *call, const char *json, size_t length) {
            (void)device; (void)json; (void)length;
            const char *message = "c-beacon takes no stimuli";
            host->fail(call, message, strlen(message));
        }
        static void command(void *device, pb_call *call, const char *json, size_t length) {
            (void)device; (void)json; (void)length;
            const char *answer = "{\"accepted\":false,\"reason\":\"c-beacon has no commands\"}";
            host->reply(call, answer, strlen(answer));
        }

        int32_t parkbench_plugin_v1(const pb_host_v1 *h, pb_plugin_v1 *plugin) {
            if (h->abi_version != PB_PLUGIN_ABI_VERSION) return 1;
            host = h;
            plugin->abi_version = PB_PLUGIN_ABI_VERSION;
            plugin->struct_size = sizeof *plugin;
            plugin->kind_json = kind;
            plugin->kind_json_length = sizeof kind - 1;
            plugin->create = create;
            plugin->destroy = destroy;
            plugin->start = start;
            plugin->timer = timer;
            plugin->stimulus = stimulus;
            plugin->command = command;
            return 0;
        }
        """#

    /// Claims ABI 99 in an otherwise plausible table.
    static let abiVersion99 = #"""
        #include "parkbench_plugin.h"
        int32_t parkbench_plugin_v1(const pb_host_v1 *host, pb_plugin_v1 *plugin) {
            (void)host;
            plugin->abi_version = 99;
            plugin->struct_size = sizeof *plugin;
            return 0;
        }
        """#

    /// Exports only a future version's entry point.
    static let entryV2Only = #"""
        #include <stdint.h>
        int32_t parkbench_plugin_v2(const void *host, void *plugin) { (void)host; (void)plugin; return 0; }
        """#

    /// A v1 table with `create` and `command` left NULL.
    static let missingCallbacks = #"""
        #include "parkbench_plugin.h"
        static void destroy(void *d) { (void)d; }
        static void start(void *d, pb_call *c) { (void)d; (void)c; }
        static void timer(void *d, pb_call *c, uint32_t t) { (void)d; (void)c; (void)t; }
        static void stimulus(void *d, pb_call *c, const char *j, size_t n) { (void)d; (void)c; (void)j; (void)n; }
        int32_t parkbench_plugin_v1(const pb_host_v1 *host, pb_plugin_v1 *plugin) {
            (void)host;
            plugin->abi_version = PB_PLUGIN_ABI_VERSION;
            plugin->struct_size = sizeof *plugin;
            plugin->destroy = destroy;
            plugin->start = start;
            plugin->timer = timer;
            plugin->stimulus = stimulus;
            return 0;
        }
        """#

    /// Logs why (without a pb_call, as the header allows) and refuses to load.
    static let refuses = #"""
        #include <string.h>
        #include "parkbench_plugin.h"
        int32_t parkbench_plugin_v1(const pb_host_v1 *host, pb_plugin_v1 *plugin) {
            (void)plugin;
            const char *why = "refusing to load: this test plugin always does";
            host->log(NULL, PB_LOG_ERROR, why, strlen(why));
            return 5;
        }
        """#

    /// A complete table whose kind JSON has a point without a type.
    static let badDescriptor = #"""
        #include "parkbench_plugin.h"
        static const char kind[] =
            "{\"name\":\"c-bad\",\"summary\":\"s\",\"sources\":[],"
            "\"points\":[{\"name\":\"x\",\"summary\":\"no type\"}],"
            "\"events\":[],\"commands\":[],\"stimuli\":[],\"parameters\":[]}";
        static void *create(pb_call *c, const char *j, size_t n) { (void)c; (void)j; (void)n; return 0; }
        static void destroy(void *d) { (void)d; }
        static void start(void *d, pb_call *c) { (void)d; (void)c; }
        static void timer(void *d, pb_call *c, uint32_t t) { (void)d; (void)c; (void)t; }
        static void message(void *d, pb_call *c, const char *j, size_t n) { (void)d; (void)c; (void)j; (void)n; }
        int32_t parkbench_plugin_v1(const pb_host_v1 *host, pb_plugin_v1 *plugin) {
            (void)host;
            plugin->abi_version = PB_PLUGIN_ABI_VERSION;
            plugin->struct_size = sizeof *plugin;
            plugin->kind_json = kind;
            plugin->kind_json_length = sizeof kind - 1;
            plugin->create = create;
            plugin->destroy = destroy;
            plugin->start = start;
            plugin->timer = timer;
            plugin->stimulus = message;
            plugin->command = message;
            return 0;
        }
        """#
}
