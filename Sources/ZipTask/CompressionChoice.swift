import CZlib
import Foundation

/// How one zip entry is written: stored as is, or deflated at a level.
public enum CompressionChoice: Equatable, Sendable {
    case store
    case deflate(level: Int)

    /// Bytes sampled from the start of a file to decide.
    public static let sampleBytes = 1 << 20

    /// Deflates a sample at level 1: if that saves less than 5 %, the data is already
    /// compressed (or random) and is stored; otherwise it is deflated at `level`.
    public static func choose(sample: UnsafeRawBufferPointer, level: Int) -> CompressionChoice {
        guard sample.count > 0, let base = sample.baseAddress else { return .store }
        var destinationLength = compressBound(uLong(sample.count))
        let destination = UnsafeMutablePointer<Bytef>.allocate(capacity: Int(destinationLength))
        defer { destination.deallocate() }
        let rc = compress2(destination, &destinationLength, base.assumingMemoryBound(to: Bytef.self), uLong(sample.count), 1)
        guard rc == Z_OK else { return .deflate(level: level) }
        let saved = 1 - Double(destinationLength) / Double(sample.count)
        return saved < 0.05 ? .store : .deflate(level: level)
    }

    /// Chooses for a file on disk by sampling its first MiB.
    public static func choose(path: String, level: Int) -> CompressionChoice {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .deflate(level: level) }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: sampleBytes)) ?? Data()
        return data.withUnsafeBytes { choose(sample: $0, level: level) }
    }
}

/// CRC-32 as zip computes it (zlib's `crc32`).
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0
    public init() {}
    /// Folds `bytes` into the checksum.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        var crc = uLong(value)
        while offset < bytes.count {
            let n = min(bytes.count - offset, Int(UInt32.max))
            crc = crc32(crc, base.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        value = UInt32(truncatingIfNeeded: crc)
    }
}
