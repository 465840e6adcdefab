/// What makes one stream of a shared clip its own: the SSRC and where its sequence numbers and
/// clocks start. Every RTP and PS field a stream restamps is a pure function of this and the
/// frame number (frames since the stream began), so a frame that is skipped still advances them
/// and a receiver sees the gap, as it would from a camera whose network dropped it.
public struct RTPStreamClock: Sendable, Equatable {
    /// From the offer's `y=` line (GB/T 28181 §F.2: ten decimal digits).
    public var ssrc: UInt32
    public var firstSequence: UInt16
    /// The RTP timestamp of frame 0.
    public var rtpBase: UInt32
    /// The PS PTS of frame 0 (90 kHz, 33 bits); the SCR runs one frame ahead of it.
    public var psBase: UInt64

    public init(ssrc: UInt32, firstSequence: UInt16 = 0, rtpBase: UInt32 = 0, psBase: UInt64 = 90_000) {
        self.ssrc = ssrc
        self.firstSequence = firstSequence
        self.rtpBase = rtpBase
        self.psBase = psBase % MPEGTimestamp.modulus
    }

    /// A clock whose starting points are drawn from `seed` (RFC 3550 §5.1 wants random initial
    /// sequence numbers and timestamps), reproducibly: one seed, one run.
    public init(ssrc: UInt32, seed: UInt64) {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
            state = (state ^ (state >> 27)) &* 0x94D0_49BB_1331_11EB
            return state ^ (state >> 31)
        }
        self.init(ssrc: ssrc, firstSequence: UInt16(truncatingIfNeeded: next()), rtpBase: UInt32(truncatingIfNeeded: next()),
                  psBase: 90_000 + next() % (1 << 32))
    }
}
