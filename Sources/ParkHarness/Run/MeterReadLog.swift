import ParkBindings
import Synchronization

/// Every read the harness's meters answered, per meter: the ground truth a gateway's published
/// readings are held to (what the registers said, and when). Bounded per meter, oldest first out.
public final class MeterReadLog: PolledReadObserver {
    /// Reads kept per meter: at three requests a second, over five minutes of history.
    static let capacity = 1024

    private let reads = Mutex<[String: [PolledRead]]>([:])

    public init() {}

    public func answered(_ read: PolledRead) {
        reads.withLock { all in
            all[read.device, default: []].append(read)
            if all[read.device]!.count > Self.capacity { all[read.device]!.removeFirst(Self.capacity / 4) }
        }
    }

    /// A meter's reads, oldest first.
    public func reads(of device: String) -> [PolledRead] {
        reads.withLock { $0[device] ?? [] }
    }
}
