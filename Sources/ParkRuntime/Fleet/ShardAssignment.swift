import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One worker process of a sharded run: its slice of the park, its broker and its source address.
///
/// The same record describes a shard on another machine later: a slice is `i/N` of the park in
/// park order (see `ShardSpec`), independent of which process or host runs it.
public struct ShardAssignment: Sendable {
    public var shard: ShardSpec
    /// Devices `range` of the park's planned devices (park order).
    public var devices: Range<Int>
    public var broker: BrokerAddress?
    /// Local address the worker's MQTT clients connect from; nil leaves the choice to the kernel.
    public var bindAddress: String?

    /// Splits `deviceCount` devices over `workers` processes, worker `i` on broker `i % brokers.count`.
    ///
    /// Workers talking to a loopback broker each get a 127.0.0.x source address of their own:
    /// one source address has only ~28,000 ephemeral ports, and TIME_WAIT sockets left by an
    /// earlier run on the same address collapse the connect rate.
    public static func plan(deviceCount: Int, workers: Int, brokers: [BrokerAddress]) -> [ShardAssignment] {
        (0 ..< workers).map { index in
            let shard = ShardSpec(index: index, count: workers)
            let broker = brokers.isEmpty ? nil : brokers[index % brokers.count]
            let loopback = broker.map { $0.host.hasPrefix("127.") || $0.host == "localhost" } ?? false
            return ShardAssignment(
                shard: shard, devices: shard.range(of: deviceCount), broker: broker,
                bindAddress: loopback ? "127.0.0.\(firstWorkerAddress + index % 200)" : nil)
        }
    }

    /// 127.0.0.11 upwards: clear of 127.0.0.1, which the broker and single-process runs use.
    public static let firstWorkerAddress = 11
}

/// How many MQTT devices one process can hold: libmosquitto takes three descriptors per client
/// (its socket and a wake-up socket pair), and the hard open-file limit cannot be raised.
public enum ProcessCapacity {
    /// Descriptors kept back for the ledger, logs, pipes and the runtime.
    public static let reservedDescriptors = 200
    public static let descriptorsPerClient = 3
    /// Workers are filled to about 90 % of the ~6,600-client ceiling: each process has a fixed
    /// cost (~5 MiB of heap, its threads), so fewer, fuller workers use less memory per device,
    /// and a client never holds more than its three descriptors, reconnecting or not.
    public static let preferredDevicesPerWorker = 6_000

    public static var hardOpenFileLimit: Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return limit.rlim_max > rlim_t(Int32.max) ? 1 << 20 : Int(limit.rlim_max)
    }

    /// Most MQTT devices a process may run.
    public static var maximumDevicesPerProcess: Int {
        max(1, (hardOpenFileLimit - reservedDescriptors) / descriptorsPerClient)
    }

    /// Raises the soft open-file limit to the hard one; many systems start processes at 1,024.
    public static func raiseOpenFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        guard limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Workers needed for `devices` MQTT devices over `brokers` brokers: enough that each holds at
    /// most `preferredDevicesPerWorker`, and a whole number of workers per broker.
    public static func workers(forDevices devices: Int, brokers: Int) -> Int {
        let perBroker = max(1, brokers)
        let needed = max(1, (devices + preferredDevicesPerWorker - 1) / preferredDevicesPerWorker)
        return (needed + perBroker - 1) / perBroker * perBroker
    }
}

extension ProcessCapacity {
    /// How many worker processes a run needs, or nil to run in this process.
    ///
    /// An explicit count (`requested`) wins. Otherwise a real-time MQTT run is split when it has
    /// several brokers or more devices than one process should hold.
    /// - Throws: ``FleetError`` when the workers would hold more MQTT clients than a process can,
    ///   or there are more workers than devices.
    public static func workerCount(requested: Int?, devices: Int, brokers: Int, virtual: Bool) throws(FleetError) -> Int? {
        let count: Int
        if let requested {
            count = requested
        } else if !virtual, brokers > 0, brokers > 1 || devices > preferredDevicesPerWorker {
            count = workers(forDevices: devices, brokers: brokers)
        } else {
            return nil
        }
        let perWorker = (devices + count - 1) / count
        if brokers > 0, perWorker > maximumDevicesPerProcess {
            let needed = (devices + maximumDevicesPerProcess - 1) / maximumDevicesPerProcess
            throw FleetError("\(devices) devices over \(count) workers is \(perWorker) per worker, more than the "
                             + "\(maximumDevicesPerProcess) MQTT clients a process can hold here "
                             + "(\(hardOpenFileLimit) open files, \(descriptorsPerClient) per client); "
                             + "use --workers \(needed) or more")
        }
        if count > devices { throw FleetError("--workers \(count) is more than the park's \(devices) devices") }
        return count
    }
}
