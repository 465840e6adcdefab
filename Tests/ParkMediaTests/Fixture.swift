import ParkMedia

#if canImport(Glibc)
import Glibc
#endif

/// The committed clip (fixtures/media/clip.h264: 50 frames, CIF, 25 fps, IDR every 25).
enum Fixture {
    static let root = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
    static let clipPath = "/\(root)/fixtures/media/clip.h264"

    static func clipBytes() throws -> [UInt8] {
        guard let file = fopen(clipPath, "rb") else { throw MediaError.socket("fopen(\(clipPath))", code: errno) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }
}
