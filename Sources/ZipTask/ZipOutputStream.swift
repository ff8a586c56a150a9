import Crypto
import Foundation

/// Receives the zip's bytes from libarchive and turns them into multipart parts;
/// hashes them (SHA-256) and keeps the archive's tail for verification.
final class ZipOutputStream {
    let uploader: MultipartUploader
    let partSize: Int
    private var buffer: [UInt8] = []
    private var nextPart = 1
    private var hasher = SHA256()
    private(set) var totalBytes: Int64 = 0
    /// The last bytes written, with the stream offset of their first byte.
    private(set) var tail: [UInt8] = []
    private(set) var tailOffset: Int64 = 0
    private let tailLimit: Int
    private(set) var failure: ZipTaskError?

    init(uploader: MultipartUploader, partSize: Int, tailLimit: Int) {
        self.uploader = uploader
        self.partSize = partSize
        self.tailLimit = tailLimit
        buffer.reserveCapacity(partSize)
    }

    /// libarchive's sink: false stops the archive (the failure is kept).
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if failure != nil { return false }
        hasher.update(bufferPointer: bytes)
        totalBytes += Int64(bytes.count)
        tail.append(contentsOf: bytes)
        if tail.count > tailLimit * 2 {
            let drop = tail.count - tailLimit
            tail.removeFirst(drop)
            tailOffset += Int64(drop)
        }
        var offset = 0
        while offset < bytes.count {
            let n = min(partSize - buffer.count, bytes.count - offset)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
            offset += n
            if buffer.count == partSize {
                do {
                    try flushPart()
                } catch {
                    failure = error
                    return false
                }
            }
        }
        return true
    }

    private func flushPart() throws(ZipTaskError) {
        let part = buffer
        buffer = []
        buffer.reserveCapacity(partSize)
        try uploader.submit(number: nextPart, bytes: part)
        nextPart += 1
    }

    /// Sends the last part; returns the archive's SHA-256 in hex.
    func finish() throws(ZipTaskError) -> String {
        if let failure { throw failure }
        if !buffer.isEmpty || nextPart == 1 { try flushPart() }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
