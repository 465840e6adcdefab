// swift-tools-version:6.1
// ParkBench's fuzz targets: one libFuzzer executable holding every target, chosen by
// FUZZ_TARGET. A package of its own, so the main build never sees the sanitizer flags; `make fuzz`
// builds it in fuzz/.build (see fuzz/README.md):
//   swift build --package-path fuzz --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which depends on where ParkBench was cloned.
let parkBench = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let parkBenchIdentity = parkBench.lastPathComponent.lowercased()

let package = Package(
    name: "ParkBenchFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "parkbench-fuzz",
            dependencies: ["ParkCore", "ParkDevices", "ParkProfiles", "ParkWire", "ParkModbus", "ParkCapture", "ParkPlatform", "ParkHarness", "ParkGB28181", "ParkMedia", "ParkMQTT", "ParkOCPP", "ParkVDA5050", "ParkSpool"].map {
                .product(name: $0, package: parkBenchIdentity)
            },
            // No `main`: libFuzzer's main calls LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ],
    swiftLanguageModes: [.v6]
)
