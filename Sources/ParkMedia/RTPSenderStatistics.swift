/// What an ``RTPSender`` has done so far: the figures a load run reports and a test checks.
public struct RTPSenderStatistics: Sendable, Equatable {
    /// RTP packets handed to the kernel (UDP) or written to a TCP connection's queue.
    public var packets: UInt64 = 0
    /// Their bytes: RTP headers and payload (not IP/UDP/TCP headers, not RFC 4571 lengths).
    public var bytes: UInt64 = 0
    /// Frames sent later than the configured lateness threshold after their due time.
    public var lateFrames: UInt64 = 0
    /// The largest lateness seen, in nanoseconds.
    public var maximumLatenessNanoseconds: UInt64 = 0
    /// Frames not sent: a TCP queue over its bound, frames skipped by a stream more than the
    /// catch-up limit behind, and frames skipped while waiting for the next key frame after either.
    public var droppedFrames: UInt64 = 0
    /// UDP packets the kernel refused (send buffer full, or an error for that destination).
    public var droppedPackets: UInt64 = 0
    /// Streams whose TCP connection failed or was closed by the other side.
    public var disconnects: UInt64 = 0
    /// Playback streams that played their range to the end.
    public var finishedPlaybacks: UInt64 = 0
    /// Streams begun and not yet ended.
    public var activeStreams: Int = 0
    /// CPU time the sender thread has used (user + system), in microseconds, as of its last second.
    public var threadCPUMicroseconds: UInt64 = 0

    public init() {}
}
