import ParkCore
import Synchronization

/// Keeps the run's ground truth in memory as it happens — emissions, stimuli and commands at
/// the virtual devices — so checks can query it while the run goes on without re-reading the
/// ledger. The ledger stays the durable record; this is its index, for a run of conformance
/// size (it grows with every record: a load run streams the ledger instead). A ``ParkSession``
/// built with `indexGroundTruth: true` keeps one as ``ParkSession/truth``.
public final class GroundTruthIndex: EmissionObserver {
    private let records = Mutex<[LedgerRecord]>([])
    private let byMessageID = Mutex<[String: Int]>([:])
    /// Each device's records, as indices into `records`, in the order the tap saw them.
    private let byDevice = Mutex<[String: [Int]]>([:])

    public init() {}

    /// Records so far.
    public var count: Int { records.withLock { $0.count } }

    public func deviceEmitted(_ record: LedgerRecord) { keep(record) }
    public func deviceReceived(_ record: LedgerRecord) { keep(record) }

    private func keep(_ record: LedgerRecord) {
        let index = records.withLock { records -> Int in
            records.append(record)
            return records.count - 1
        }
        if record.entry == .emission { byMessageID.withLock { $0[record.messageID] = index } }
        byDevice.withLock { $0[record.deviceID, default: []].append(index) }
    }

    /// The device's first emission named `name` after the record with ledger order `order`:
    /// what a latency check times, found through the device's own records, not all of them.
    public func firstEmission(of deviceID: String, named name: String, after order: UInt64) -> LedgerRecord? {
        let indices = byDevice.withLock { $0[deviceID] ?? [] }
        return records.withLock { records in
            for index in indices {
                let record = records[index]
                if record.entry == .emission, record.name == name, record.order > order { return record }
            }
            return nil
        }
    }

    /// How many records so far: a mark to ask for what came after.
    public var mark: Int { records.withLock { $0.count } }

    /// Records from `mark` on (in the order the tap saw them), filtered.
    public func records(from mark: Int = 0, where include: (LedgerRecord) -> Bool = { _ in true }) -> [LedgerRecord] {
        records.withLock { records in
            guard mark < records.count else { return [] }
            return records[mark...].filter(include)
        }
    }

    /// The emission with this `msg_id`.
    public func emission(messageID: String) -> LedgerRecord? {
        guard let index = byMessageID.withLock({ $0[messageID] }) else { return nil }
        return records.withLock { $0[index] }
    }
}
