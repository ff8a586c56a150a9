import CurlHTTP
import Foundation

/// What is recorded beside each fetched file so a re-run can skip or resume it:
/// the object's ETag and size, and whether the file is complete.
public struct FetchRecord: Codable, Equatable, Sendable {
    public var etag: String
    public var size: Int64
    public var complete: Bool
    /// CRC-32 of the whole file, computed as it was downloaded (set once complete).
    public var crc32: UInt32?

    public init(etag: String, size: Int64, complete: Bool, crc32: UInt32? = nil) {
        self.etag = etag
        self.size = size
        self.complete = complete
        self.crc32 = crc32
    }

    /// What to do with a file on disk for an object with `etag` and `size`.
    public enum Decision: Equatable, Sendable {
        /// Already fetched whole: skip it.
        case skip
        /// Resume from this byte offset.
        case resume(from: Int64)
        /// Start over (missing, or a different version of the object).
        case restart
    }

    /// Decides from the record beside the file (if any) and the file's current length.
    public static func decide(record: FetchRecord?, fileLength: Int64?, etag: String, size: Int64) -> Decision {
        guard let record, record.etag == etag, record.size == size, let length = fileLength else { return .restart }
        if record.complete { return length == size && record.crc32 != nil ? .skip : .restart }
        if length > size { return .restart }
        return length == 0 ? .restart : .resume(from: length)
    }

    static func load(_ path: String) -> FetchRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(FetchRecord.self, from: data)
    }

    func save(_ path: String) throws {
        let data = try JSONEncoder().encode(self)
        let tmp = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: tmp))
        if rename(tmp, path) != 0 { throw CocoaError(.fileWriteUnknown) }
    }
}

/// CRC-32 of a download as it arrives, so the zip stage need not compute it again.
final class DownloadChecksum: BodyTee {
    private(set) var crc = CRC32()

    /// Starts from the bytes already in `path` (a resumed download).
    init(prefixOf path: String?) {
        guard let path, let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { crc.update($0) }
        }
    }

    func restart() { crc = CRC32() }
    func consume(_ bytes: UnsafeRawBufferPointer) { crc.update(bytes) }
}
