#if canImport(Glibc)
import Glibc
#endif

/// A bounded first-in, first-out queue of byte records kept in a directory on disk, for
/// store-and-forward: a gateway that cannot reach its platform appends what it would have sent,
/// and sends it — oldest first — once it can, removing each record only when its delivery was
/// acknowledged. What was appended survives the process being killed (every append is written
/// through to the file before it returns) and, with ``sync()`` called, the machine losing power.
///
/// On disk: `records.<generation>`, frames of `[length u32 LE][CRC-32 u32 LE][bytes]`, and `head`,
/// the generation and the offset of the first record not yet removed. Opening a spool reads the
/// frames after the head; a frame cut short or failing its CRC (the write a crash interrupted) ends
/// the spool there, and the file is truncated to the last whole frame. Once the removed records
/// take up most of the file it is rewritten with only the live ones under the next generation; the
/// head names the new file only once it is complete, so a crash during the rewrite loses nothing.
///
/// Full (``capacity`` records), an append drops the oldest record (counted in ``dropped``): the
/// newest events are the ones a control room still needs; a gateway sized from its profile
/// (≥ 10,000 events for a fire user-transmission device, 004 L3064) should never get there.
///
/// Not thread-safe: one owner drives it (behind its own lock).
public final class DiskSpool {
    /// The spool's directory.
    public let directory: String
    /// The most records it keeps.
    public let capacity: Int
    /// Records appended and not yet removed.
    public var count: Int { frames.count - first }
    /// Records the spool found when it was opened (left by an earlier run, or a power loss).
    public private(set) var recovered = 0
    /// Bytes of a frame cut short or corrupt at the end of the file when it was opened, dropped.
    public private(set) var tornBytes = 0
    /// Records dropped since opening because the spool was full.
    public private(set) var dropped = 0

    private var generation: UInt64 = 0
    private var descriptor: Int32 = -1
    private var headDescriptor: Int32 = -1
    /// Where each record's frame starts and how long its payload is; live ones from `first`.
    private var frames: [(offset: Int, length: Int)] = []
    private var first = 0
    private var end = 0

    static let frameHeader = 8
    /// Frames larger than this are taken for garbage when reading (a corrupt length).
    public static let maximumRecord = 16 << 20

    /// Opens (or creates) the spool in `directory`, recovering what an earlier run left.
    /// - Throws: ``SpoolError`` when the directory or its files cannot be made or read.
    public init(directory: String, capacity: Int) throws(SpoolError) {
        precondition(capacity > 0, "a spool holds at least one record")
        self.directory = directory
        self.capacity = capacity
        if mkdir(directory, 0o755) != 0, errno != EEXIST { throw SpoolError("cannot create the spool directory \(directory)", errno: errno) }
        headDescriptor = open(path("head"), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard headDescriptor >= 0 else { throw SpoolError("cannot open \(path("head"))", errno: errno) }
        var head = [UInt8](repeating: 0, count: 16)
        let headBytes = pread(headDescriptor, &head, 16, 0)
        var offset = 0
        if headBytes == 16 {
            generation = Self.uint64(head, at: 0)
            // Read from disk: any eight bytes, so no trap on a value past Int.max.
            offset = Int(clamping: Self.uint64(head, at: 8))
        }
        // On a throw from here on, deinit closes what was opened.
        descriptor = open(path("records.\(generation)"), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SpoolError("cannot open \(path("records.\(generation)"))", errno: errno) }
        try recover(from: offset)
        removeOtherGenerations()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if headDescriptor >= 0 { close(headDescriptor) }
    }

    /// Appends a record (written through to the file before this returns); the oldest is dropped
    /// when the spool is full.
    public func append(_ record: [UInt8]) throws(SpoolError) {
        guard record.count <= Self.maximumRecord else { throw SpoolError("a record of \(record.count) bytes is over the spool's \(Self.maximumRecord)") }
        var frame = [UInt8]()
        frame.reserveCapacity(Self.frameHeader + record.count)
        Self.append(UInt32(record.count), to: &frame)
        Self.append(CRC32.checksum(record), to: &frame)
        frame += record
        try write(frame, at: end)
        frames.append((end, record.count))
        end += frame.count
        // The oldest goes only once the newest is written: a failed write loses neither.
        if count > capacity {
            let excess = count - capacity
            try removeFirst(excess)
            dropped += excess
        }
    }

    /// Up to `limit` records from the `skip`-th oldest on, oldest first.
    public func peek(skip: Int = 0, limit: Int) -> [[UInt8]] {
        let start = first + skip
        guard start < frames.count, limit > 0 else { return [] }
        return frames[start..<min(frames.count, start + limit)].map { frame in
            var bytes = [UInt8](repeating: 0, count: frame.length)
            _ = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, frame.length, off_t(frame.offset + Self.frameHeader)) }
            return bytes
        }
    }

    /// Removes the `n` oldest records (their delivery was acknowledged).
    public func removeFirst(_ n: Int) throws(SpoolError) {
        first = min(frames.count, first + max(0, n))
        let offset = first < frames.count ? frames[first].offset : end
        try writeHead(generation: generation, offset: offset)
        if first > 4_096, first * 2 > frames.count || count == 0 { try compact() }
    }

    /// Flushes the records and the head to the disk itself (fsync): what a power loss then cannot
    /// take. Appends alone survive a killed process, not a lost machine.
    public func sync() {
        fsync(descriptor)
        fsync(headDescriptor)
    }

    // MARK: - Files

    private func path(_ name: String) -> String { directory + "/" + name }

    private func recover(from offset: Int) throws(SpoolError) {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw SpoolError("cannot stat the spool's records", errno: errno) }
        let size = Int(status.st_size)
        var position = min(offset, size)
        var header = [UInt8](repeating: 0, count: Self.frameHeader)
        while position + Self.frameHeader <= size {
            guard pread(descriptor, &header, Self.frameHeader, off_t(position)) == Self.frameHeader else { break }
            let length = Int(Self.uint32(header, at: 0)), crc = Self.uint32(header, at: 4)
            guard length <= Self.maximumRecord, position + Self.frameHeader + length <= size else { break }
            var payload = [UInt8](repeating: 0, count: length)
            let read = payload.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, length, off_t(position + Self.frameHeader)) }
            guard read == length, CRC32.checksum(payload) == crc else { break }
            frames.append((position, length))
            position += Self.frameHeader + length
        }
        tornBytes = size - position
        if tornBytes > 0, ftruncate(descriptor, off_t(position)) != 0 { throw SpoolError("cannot cut the torn record off the spool", errno: errno) }
        end = position
        recovered = frames.count
        // A head past the file's end (the file cut short behind it) would hide what is appended next.
        if offset > size { try writeHead(generation: generation, offset: size) }
    }

    /// Rewrites the live records into the next generation's file and points the head at it.
    private func compact() throws(SpoolError) {
        let next = generation + 1
        let nextPath = path("records.\(next)")
        let target = open(nextPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard target >= 0 else { throw SpoolError("cannot create \(nextPath)", errno: errno) }
        var moved: [(offset: Int, length: Int)] = []
        var position = 0
        for frame in frames[first...] {
            var bytes = [UInt8](repeating: 0, count: Self.frameHeader + frame.length)
            let size = bytes.count
            let read = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, size, off_t(frame.offset)) }
            let written = read == size ? bytes.withUnsafeBytes { pwrite(target, $0.baseAddress, size, off_t(position)) } : -1
            guard written == size else {
                let code = errno
                close(target)
                unlink(nextPath)
                throw SpoolError("cannot move the spool's records to \(nextPath)", errno: code)
            }
            moved.append((position, frame.length))
            position += size
        }
        fsync(target)
        // The new file's name must be on the disk before the head names it.
        let directoryDescriptor = open(directory, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        do { try writeHead(generation: next, offset: 0) } catch {
            close(target)
            unlink(nextPath)
            throw error
        }
        fsync(headDescriptor)
        close(descriptor)
        unlink(path("records.\(generation)"))
        descriptor = target
        generation = next
        frames = moved
        first = 0
        end = position
    }

    private func removeOtherGenerations() {
        guard let entries = opendir(directory) else { return }
        defer { closedir(entries) }
        while let entry = readdir(entries) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("records."), name != "records.\(generation)" { unlink(path(name)) }
        }
    }

    private func write(_ bytes: [UInt8], at offset: Int) throws(SpoolError) {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SpoolError("cannot write to the spool in \(directory)", errno: errno)
            }
            done += written
        }
    }

    private func writeHead(generation: UInt64, offset: Int) throws(SpoolError) {
        var head = [UInt8]()
        Self.append(generation, to: &head)
        Self.append(UInt64(offset), to: &head)
        // 16 bytes at offset 0: one sector, written whole or not at all.
        guard pwrite(headDescriptor, head, 16, 0) == 16 else { throw SpoolError("cannot write the spool's head", errno: errno) }
    }

    // MARK: - Little-endian fields

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func uint32(_ bytes: [UInt8], at index: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[index + $1]) << (8 * $1) }
    }

    static func uint64(_ bytes: [UInt8], at index: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[index + $1]) << (8 * $1) }
    }
}

/// Why the spool could not do what it was asked.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ message: String, errno code: Int32? = nil) {
        description = code.map { "\(message): \(String(cString: strerror($0)))" } ?? message
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib and Ethernet compute it).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        (0..<8).reduce(UInt32(index)) { crc, _ in crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(~UInt32(0)) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
}
