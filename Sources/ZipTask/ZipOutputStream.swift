import Crypto
import Foundation

/// Receives the zip's bytes from libarchive and turns them into multipart parts;
/// hashes them (SHA-256) and keeps the archive's tail for verification.
final class ZipOutputStream {
    let uploader: MultipartUploader
    let partSize: Int
    private var buffer: [UInt8] = []
    private var nextPart = 1
    private let hasher = OrderedHasher()
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
        hasher.submit(part)
        try uploader.submit(number: nextPart, bytes: part)
        nextPart += 1
    }

    /// Sends the last part; returns the archive's SHA-256 in hex.
    func finish() throws(ZipTaskError) -> String {
        if let failure { throw failure }
        if !buffer.isEmpty || nextPart == 1 { try flushPart() }
        return hasher.finish()
    }
}

/// SHA-256 of the parts, in order, on its own thread (off the zip thread).
/// Thread safety: `queue`, `done` and `digest` are only used with `condition` locked.
final class OrderedHasher: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [[UInt8]] = []
    private var closed = false
    private var digest: String?

    init() {
        let thread = Thread { [self] in self.run() }
        thread.start()
    }

    func submit(_ part: [UInt8]) {
        condition.lock()
        queue.append(part)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for every part and returns the hex digest.
    func finish() -> String {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
        while digest == nil { condition.wait() }
        return digest ?? ""
    }

    private func run() {
        var hasher = SHA256()
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            if queue.isEmpty && closed {
                digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                condition.broadcast()
                condition.unlock()
                return
            }
            let part = queue.removeFirst()
            condition.unlock()
            part.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
    }
}
