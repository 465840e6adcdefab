// The libFuzzer entry points. One executable holds every target; FUZZ_TARGET names the one this
// process runs (`FUZZ_TARGET=dlt645 parkbench-fuzz corpus/`), so there is one sanitizer build.
import Foundation

/// A fuzz target: takes any bytes, returns normally or crashes (a trap, a sanitizer report, a
/// failed `check`). Keep it deterministic: the same bytes take the same path.
struct FuzzTarget: Sendable {
    var name: String
    var summary: String
    /// Runs once before the first input (loads catalogs, registries).
    var setUp: @Sendable () -> Void = {}
    var run: @Sendable ([UInt8]) -> Void
}

/// Every target, in the order `make fuzz` runs them. Adding a target: write a
/// `FuzzTarget` (see Wire.swift, Profiles.swift) and add one line here; `make fuzz` and the seed
/// script pick the name up from `parkbench-fuzz`'s `FUZZ_TARGET=list`.
let fuzzTargets: [FuzzTarget] = [
    dlt645Target,
    dlt645NumberTarget,
    mediaTarget,
    modbusRTUFramerTarget,
    modbusTCPTarget,
    modbusReplyTarget,
    mqttConnectPeekTarget,
    mqttWireTarget,
    ocppTarget,
    platformMessageTarget,
    pluginJSONTarget,
    profileModelTarget,
    profileParkTarget,
    profileSuiteTarget,
    profilePlatformTarget,
    profileLinkageTarget,
    sipTarget,
    spoolTarget,
    vda5050Target,
]

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if name == "list" {
        for target in fuzzTargets { print(target.name) }
        exit(0)
    }
    guard let target = fuzzTargets.first(where: { $0.name == name }) else {
        let known = fuzzTargets.map { "  \($0.name)\t\($0.summary)" }.joined(separator: "\n")
        FileHandle.standardError.write(Data("parkbench-fuzz: set FUZZ_TARGET to one of (or 'list'):\n\(known)\n".utf8))
        exit(2)
    }
    target.setUp()
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    selected!.run(bytes)
    return 0
}

/// Fails the run when a property of the code under test does not hold (a finding, like a crash).
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("property failed: \(message())", file: file, line: line) }
}

/// Reads decisions (chunk sizes, selectors) off the front of an input, the rest being the data.
struct Choices {
    private var bytes: ArraySlice<UInt8>
    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
    /// The next byte, 0 when the input has run out.
    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }
    mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let taken = bytes.prefix(count)
        bytes = bytes.dropFirst(taken.count)
        return taken
    }
    var rest: ArraySlice<UInt8> { bytes }
    var isEmpty: Bool { bytes.isEmpty }
}
