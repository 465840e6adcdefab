// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ParkBench",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parkbench", targets: ["parkbench"]),
        .library(name: "ParkCore", targets: ["ParkCore"]),
        .library(name: "ParkDevices", targets: ["ParkDevices"]),
        // What an external device-kind plugin links against: C ABI + Swift wrapper, nothing else.
        .library(name: "ParkPluginKit", targets: ["ParkPluginKit"]),
        // The example plugin, built as a shared library that `parkbench` loads with dlopen.
        .library(name: "ParkPluginExample", type: .dynamic, targets: ["ParkPluginExample"]),
        // The car-park plugins (devices/plugins/parking): one kind per library.
        .library(name: "ParkPluginLPRCamera", type: .dynamic, targets: ["ParkPluginLPRCamera"]),
        .library(name: "ParkPluginBarrier", type: .dynamic, targets: ["ParkPluginBarrier"]),
        .library(name: "ParkPluginSpaceDetector", type: .dynamic, targets: ["ParkPluginSpaceDetector"]),
        .library(name: "ParkPluginGuidanceScreen", type: .dynamic, targets: ["ParkPluginGuidanceScreen"]),
        .library(name: "ParkPluginLane", type: .dynamic, targets: ["ParkPluginLane"]),
        // The pedestrian access-control plugins (devices/plugins/access): one kind per library.
        .library(name: "ParkPluginAccessTerminal", type: .dynamic, targets: ["ParkPluginAccessTerminal"]),
        .library(name: "ParkPluginDoor", type: .dynamic, targets: ["ParkPluginDoor"]),
        .library(name: "ParkPluginIntercom", type: .dynamic, targets: ["ParkPluginIntercom"]),
        // The elevator plugins (devices/plugins/elevators): one kind per library.
        .library(name: "ParkPluginElevator", type: .dynamic, targets: ["ParkPluginElevator"]),
        .library(name: "ParkPluginElevatorAccess", type: .dynamic, targets: ["ParkPluginElevatorAccess"]),
        .library(name: "ParkPluginMobileRobot", type: .dynamic, targets: ["ParkPluginMobileRobot"]),
        // The parsers the fuzz package (fuzz/, built with sanitizers in its own scratch path) drives.
        .library(name: "ParkModbus", targets: ["ParkModbus"]),
        .library(name: "ParkCapture", targets: ["ParkCapture"]),
        .library(name: "ParkPlatform", targets: ["ParkPlatform"]),
        .library(name: "ParkWire", targets: ["ParkWire"]),
        .library(name: "ParkProfiles", targets: ["ParkProfiles"]),
        .library(name: "ParkHarness", targets: ["ParkHarness"]),
        .library(name: "ParkGB28181", targets: ["ParkGB28181"]),
        .library(name: "ParkMedia", targets: ["ParkMedia"]),
        .library(name: "ParkMQTT", targets: ["ParkMQTT"]),
        .library(name: "ParkOCPP", targets: ["ParkOCPP"]),
        .library(name: "ParkVDA5050", targets: ["ParkVDA5050"]),
        .library(name: "ParkSpool", targets: ["ParkSpool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // System libraries: module maps only; `make deps` installs the Debian packages.
        .systemLibrary(
            name: "CModbus", pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(
            name: "CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(
            name: "CPcap", pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]),

        // The plugin ABI: plain C structs, shared by host and plugins.
        .target(name: "CParkPlugin"),

        .target(
            name: "ParkCore",
            dependencies: [
                "CParkPlugin", "ParkPluginJSON", "ParkWire", "ParkProfiles",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
            ]),
        // The device wire format: topic templates, the JSON envelope written and read, its bounded decoder.
        .target(name: "ParkWire"),
        // Profile files, readable without the engine: YAML read with marks and budgets, problems
        // with file:line, model profiles and their protocol maps, the model catalog, park files,
        // and the kinds' vocabulary they are checked against (descriptors, values, KindCatalog).
        .target(name: "ParkProfiles", dependencies: ["ParkWire", "ParkVDA5050", .product(name: "Yams", package: "Yams")]),
        .target(name: "ParkPluginKit", dependencies: ["CParkPlugin", "ParkPluginJSON"]),
        // The JSON reader both sides of the plugin boundary use (each binary links its own copy;
        // only text crosses): strict, bounded, integers kept apart from other numbers.
        .target(name: "ParkPluginJSON"),
        .target(name: "ParkDevices", dependencies: ["ParkCore"]),
        // The one event-loop runtime under the socket protocols: epoll selector, eventfd waker,
        // monotonic clock, OS threads. The only Park module ParkModbus and ParkMQTT import.
        .target(name: "ParkEventLoop", dependencies: ["CLinuxEvents"]),
        // CLinuxEvents stays for the pty (RTU buses) and SIOCOUTQ, which are not event-loop concerns.
        .target(name: "ParkModbus", dependencies: ["CModbus", "CLinuxEvents", "ParkEventLoop"]),
        .target(name: "CLinuxEvents"),
        .target(
            name: "ParkMQTT",
            dependencies: ["CMosquitto", "ParkEventLoop", .product(name: "Logging", package: "swift-log")]),
        .target(name: "ParkCapture", dependencies: ["CPcap"]),
        // GB/T 28181-2016: the SIP codec, digest authentication, 20-digit ids and MANSCDP bodies
        // (protocol only: no devices, no sockets).
        .target(name: "ParkGB28181", dependencies: ["ParkEventLoop", .product(name: "Crypto", package: "swift-crypto")]),
        // OCPP-J: the RPC frames, the charge point's session (boot, heartbeats, offline queue) and
        // the WebSocket ends of both roles, on SwiftNIO.
        .target(
            name: "ParkOCPP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]),
        // VDA 5050 (fleet controller ↔ mobile robots): the messages as the standard writes them,
        // topics, headers, and a robot's order-acceptance rules. Knows nothing of devices.
        .target(name: "ParkVDA5050"),
        // Live video for simulated cameras: H.264 access units, MPEG-PS, RTP (UDP and RFC 4571 TCP),
        // one clip packetized once and paced to every stream from one sender thread. Knows nothing
        // of devices or SIP; ParkBindings answers GB/T 28181 INVITEs with it.
        .target(name: "ParkMedia", dependencies: ["CLinuxEvents", "ParkEventLoop"]),
        // Faults the harness injects: a TCP proxy that partitions, loses acknowledgements or resets
        // the connections of chosen devices while a run goes on (user space, no privileges).
        .target(name: "ParkFaults", dependencies: ["ParkEventLoop"]),
        // A bounded on-disk FIFO for store-and-forward (a gateway's readings while its uplink is down).
        .target(name: "ParkSpool"),
        // The reference platform's rules (a system under test that misbehaves on request).
        .target(
            name: "ParkPlatform",
            dependencies: [
                "ParkMQTT", "ParkProfiles", "ParkWire", "ParkModbus", "ParkSpool", "ParkEventLoop", "ParkGB28181", "ParkMedia", "ParkOCPP", "ParkVDA5050", .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // Maps devices onto wire protocols; the only module that knows both sides.
        .target(
            name: "ParkBindings",
            dependencies: [
                "ParkCore", "ParkProfiles", "ParkWire", "ParkMQTT", "ParkModbus", "ParkGB28181", "ParkEventLoop", "ParkMedia", "ParkOCPP", "ParkVDA5050",
                .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        // A running park: the session (engine, ledger, bindings, command routing, stimulus script)
        // and the worker processes of a sharded run. The commands are its clients.
        .target(name: "ParkRuntime", dependencies: ["ParkCore", "ParkBindings", "ParkBroker", "ParkWire", "CLinuxEvents"]),
        .executableTarget(
            name: "parkbench",
            dependencies: [
                "ParkCore", "ParkDevices", "ParkProfiles", "ParkWire", "ParkBindings", "ParkPlatform", "ParkBroker", "ParkModbus", "ParkMQTT", "ParkCapture",
                "ParkHarness", "ParkCertify", "ParkReport", "ParkRuntime", "ParkGB28181", "ParkMedia",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        .target(
            name: "ParkPluginExample",
            dependencies: ["ParkPluginKit"],
            path: "devices/plugins/example-people-counter",
            exclude: ["README.md"]),
        // What the plate-reading kinds share; linked statically into each of them.
        .target(name: "ParkPluginPlates", dependencies: ["ParkPluginKit"], path: "devices/plugins/parking/plates"),
        .target(name: "ParkPluginLPRCamera", dependencies: ["ParkPluginKit", "ParkPluginPlates"], path: "devices/plugins/parking/lpr-camera"),
        .target(name: "ParkPluginBarrier", dependencies: ["ParkPluginKit"], path: "devices/plugins/parking/barrier"),
        .target(name: "ParkPluginSpaceDetector", dependencies: ["ParkPluginKit", "ParkPluginPlates"], path: "devices/plugins/parking/space-detector"),
        .target(name: "ParkPluginLane", dependencies: ["ParkPluginKit", "ParkPluginPlates"], path: "devices/plugins/parking/lane"),
        .target(name: "ParkPluginGuidanceScreen", dependencies: ["ParkPluginKit"], path: "devices/plugins/parking/guidance-screen"),
        .target(name: "ParkPluginAccessTerminal", dependencies: ["ParkPluginKit"], path: "devices/plugins/access/access-terminal"),
        .target(name: "ParkPluginDoor", dependencies: ["ParkPluginKit"], path: "devices/plugins/access/door"),
        .target(name: "ParkPluginIntercom", dependencies: ["ParkPluginKit"], path: "devices/plugins/access/intercom"),
        .target(name: "ParkPluginElevator", dependencies: ["ParkPluginKit"], path: "devices/plugins/elevators/elevator"),
        .target(name: "ParkPluginElevatorAccess", dependencies: ["ParkPluginKit"], path: "devices/plugins/elevators/elevator-access-controller"),
        .target(name: "ParkPluginMobileRobot", dependencies: ["ParkPluginKit"], path: "devices/plugins/robots/mobile-robot"),

        .executableTarget(
            name: "parkbench-bench",
            dependencies: [
                "ParkCore", "ParkDevices", "ParkMQTT", "ParkModbus", "ParkPlatform", "ParkRuntime", "ParkTestSupport", "ParkGB28181", "ParkMedia",
                "ParkBindings", "ParkProfiles", "ParkOCPP", "ParkWire", "ParkVDA5050",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "bench/Sources/parkbench-bench"),

        .testTarget(name: "ParkCoreTests", dependencies: ["ParkCore", "ParkDevices", "ParkProfiles", "ParkPluginJSON", "ParkVDA5050"]),
        .testTarget(name: "ParkDevicesTests", dependencies: ["ParkDevices", "ParkCore"]),
        .testTarget(name: "ParkEventLoopTests", dependencies: ["ParkEventLoop"]),
        .testTarget(name: "ParkModbusTests", dependencies: ["ParkModbus", "ParkTestSupport"]),
        .testTarget(name: "SystemLibraryTests", dependencies: ["ParkModbus", "ParkMQTT", "ParkCapture"]),
        .testTarget(name: "ParkBenchCLITests", dependencies: ["ParkCore", "ParkTestSupport"]),
        .testTarget(
            name: "ParkMQTTTests",
            dependencies: ["ParkMQTT", "ParkFaults", "ParkCapture", "ParkTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ParkPlatformTests", dependencies: ["ParkPlatform", "ParkProfiles", "ParkWire", "ParkGB28181", "ParkBindings", "ParkMedia", "ParkOCPP", "ParkVDA5050", "ParkTestSupport", .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "ParkWireTests", dependencies: ["ParkWire"]),
        .testTarget(name: "ParkVDA5050Tests", dependencies: ["ParkVDA5050", "ParkTestSupport"]),
        .testTarget(name: "ParkGB28181Tests", dependencies: ["ParkGB28181", "ParkEventLoop"]),
        .testTarget(name: "ParkOCPPTests", dependencies: ["ParkOCPP", "ParkTestSupport", .product(name: "NIOPosix", package: "swift-nio")]),
        // Pure: the splitter, PS muxer, RTP packetizer and clip, no sockets.
        .testTarget(name: "ParkMediaTests", dependencies: ["ParkMedia"]),
        // The fault proxy against real sockets (and mosquitto): one test at a time.
        .testTarget(name: "ParkFaultsTests", dependencies: ["ParkFaults", "ParkMQTT", "ParkTestSupport"]),
        .testTarget(name: "ParkSpoolTests", dependencies: ["ParkSpool", "ParkTestSupport"]),
        // Sockets and independent decoders (ffprobe, tshark): one test at a time.
        .testTarget(name: "ParkMediaInteropTests", dependencies: ["ParkMedia", "ParkEventLoop", "ParkCapture", "ParkTestSupport"]),
        .testTarget(
            name: "ParkGB28181InteropTests", dependencies: ["ParkGB28181", "ParkCapture", "ParkTestSupport"], exclude: ["Scenarios", "Kamailio"]),
        .testTarget(name: "ParkRuntimeTests", dependencies: ["ParkRuntime", "ParkBindings", "ParkCore", "ParkDevices", "ParkModbus", "ParkGB28181", "ParkEventLoop", "ParkMedia", "ParkTestSupport", "ParkCapture"]),
        .testTarget(name: "ParkReportTests", dependencies: ["ParkReport"]),
        .testTarget(name: "ParkCaptureTests", dependencies: ["ParkCapture", "ParkModbus", "ParkTestSupport"]),
        .testTarget(
            name: "ParkHarnessTests",
            dependencies: [
                "ParkHarness", "ParkReport", "ParkCore", "ParkProfiles", "ParkDevices", "ParkPlatform", "ParkCapture", "ParkBindings", "ParkMQTT",
                "ParkWire", "ParkTestSupport",
            ]),
        .testTarget(name: "ParkCertifyTests", dependencies: ["ParkCertify", "ParkCore", "ParkModbus", "ParkReport", "ParkTestSupport", "ParkGB28181", "ParkMedia", "ParkBindings", "ParkProfiles", "ParkVDA5050", "ParkWire"]),
        .testTarget(
            name: "ParkBindingsTests",
            dependencies: ["ParkBindings", "ParkCore", "ParkDevices", "ParkMQTT", "ParkPlatform", "ParkProfiles", "ParkWire", "ParkTestSupport", "ParkMedia", "ParkCapture"]),

        // A private mosquitto on a free loopback port, child processes, temp dirs: what
        // `parkbench demo` embeds and what the tests run their peers with.
        .target(name: "ParkBroker", dependencies: ["CLinuxEvents"]),
        .target(name: "ParkReport", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        .target(
            name: "ParkHarness",
            dependencies: [
                "ParkCore", "ParkProfiles", "ParkWire", "ParkMQTT", "ParkModbus", "ParkBindings", "ParkRuntime", "ParkReport", "ParkCapture", "ParkGB28181", "ParkMedia",
                "ParkFaults", .product(name: "Yams", package: "Yams"), .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]),
        // Device certification: ParkBench as the master of a meter under test (Modbus, DL/T 645).
        .target(name: "ParkCertify", dependencies: ["ParkCore", "ParkProfiles", "ParkModbus", "ParkReport", "ParkGB28181", "ParkMedia", "ParkEventLoop", "ParkOCPP", "ParkMQTT", "ParkVDA5050"]),
        .target(name: "ParkTestSupport", dependencies: ["ParkBroker"]),
    ],
    swiftLanguageModes: [.v6]
)
