#if canImport(Glibc)
import Glibc
#endif

/// What the API side of ``RTPSender`` asks its thread to do: the thread owns every stream, so
/// streams are only created, begun and ended through these.
enum SenderCommand: Sendable {
    /// A stream's socket, opened by the caller (so it could answer with the port at once).
    enum Endpoint: Sendable {
        case udp(sockaddr_in)
        case tcpConnect(Int32, sockaddr_in)
        case tcpListen(Int32)

        /// Closes the descriptor a command carries, for a command nobody will run.
        func close() {
            switch self {
            case .udp: break
            case .tcpConnect(let fd, _), .tcpListen(let fd): _ = Glibc.close(fd)
            }
        }
    }

    case open(id: Int, endpoint: Endpoint, clock: RTPStreamClock, mode: RTPSender.Mode)
    case begin(Int)
    case end(Int)
}

/// One stream as the sender thread keeps it.
final class SenderStream {
    enum Connection {
        /// UDP: the destination, at a fixed address for sendmmsg to point at.
        case udp(UnsafeMutablePointer<sockaddr_in>)
        case listening(Int32)
        /// A TCP socket not yet connected (connect started on begin).
        case connecting(Int32, sockaddr_in, inProgress: Bool)
        case connected(Int32)
    }

    let id: Int
    let clock: RTPStreamClock
    let mode: RTPSender.Mode
    var connection: Connection
    var begun = false
    /// The clock runs: frame `frameNumber` is due at `startTime + frameNumber × frame interval`.
    var running = false
    var startTime: UInt64 = 0
    var frameNumber: UInt64 = 0
    var nextDue: UInt64 = 0
    /// TCP after a drop: frames are skipped until a key frame, which a decoder can start from.
    var awaitingKeyFrame = false
    /// TCP: bytes written into the queue and not yet taken by the kernel, from `queueStart`.
    var queue: [UInt8] = []
    var queueStart = 0
    var watchingWritable = false
    /// Playback done: close once the queue has drained.
    var finishing = false

    init(id: Int, clock: RTPStreamClock, mode: RTPSender.Mode, connection: Connection) {
        self.id = id
        self.clock = clock
        self.mode = mode
        self.connection = connection
    }

    var queuedBytes: Int { queue.count - queueStart }

    /// The TCP descriptor, whatever its state (nil for UDP).
    var descriptor: Int32? {
        switch connection {
        case .udp: nil
        case .listening(let fd), .connecting(let fd, _, _), .connected(let fd): fd
        }
    }
}
