import Foundation
import ParkCore

/// A progress line on standard error every ten seconds of wall time, for long runs; in a worker
/// process, a `WorkerReportLine` on standard output every second for the coordinator instead.
public final class RunProgress {
    private let enabled: Bool
    private let ledger: Ledger
    private let workerReport: (() -> WorkerProgress)?
    private let started = SystemClock.monotonicNow()
    private var lastReport: MonotonicInstant
    private var lastCount: UInt64 = 0

    /// - Parameter workerReport: set in worker processes; gives the MQTT counters to report.
    public init(enabled: Bool, ledger: Ledger, workerReport: (() -> WorkerProgress)? = nil) {
        self.enabled = enabled
        self.ledger = ledger
        self.workerReport = workerReport
        self.lastReport = started
    }

    public func tick(deviceTime: DeviceDuration, total: DeviceDuration) {
        let now = SystemClock.monotonicNow()
        if let workerReport {
            guard now.duration(since: lastReport) >= .seconds(1) else { return }
            lastReport = now
            var progress = workerReport()
            progress.deviceSeconds = deviceTime.seconds
            progress.ledgerRecords = Int(ledger.count)
            print(WorkerReportLine(progress: progress).encoded())
            fflush(nil)
            return
        }
        guard enabled, now.duration(since: lastReport) >= .seconds(10) else { return }
        let count = ledger.count
        let rate = Double(count - lastCount) / now.duration(since: lastReport).seconds
        let percent = Double(deviceTime.nanoseconds) / Double(max(total.nanoseconds, 1)) * 100
        // Whole seconds: `10s` reads better than `10s468us157ns` on a progress line.
        let shown = DeviceDuration(nanoseconds: deviceTime.nanoseconds / 1_000_000_000 * 1_000_000_000)
        StandardError.writeLine(String(
            format: "[%.0f%%] device time %@ of %@, %llu ledger records (%.0f/s)",
            percent, shown.description, total.description, count, rate))
        lastReport = now
        lastCount = count
    }
}
