import ArgumentParser
import ParkCapture
import ParkCore
import ParkModbus
import ParkMQTT

/// `parkbench version`: ParkBench's version, its plugin ABI, and the C libraries it runs on.
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the ParkBench version, plugin ABI and linked library versions.")

    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    func run() async throws {
        let info = VersionInfo(
            parkbench: ParkBenchVersion.current, pluginABI: Int(PluginLoader.abiVersion),
            libmodbus: LibModbus.version, libmosquitto: LibMosquitto.version, libpcap: LibPcap.version)
        if json {
            Output.json(info)
        } else {
            print("parkbench \(info.parkbench)")
            print("plugin ABI    \(info.pluginABI)")
            print("libmodbus     \(info.libmodbus)")
            print("libmosquitto  \(info.libmosquitto)")
            print("libpcap       \(info.libpcap)")
        }
    }
}

private struct VersionInfo: Encodable {
    var parkbench: String
    var pluginABI: Int
    var libmodbus: String
    var libmosquitto: String
    var libpcap: String
}
