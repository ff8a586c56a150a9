import Foundation

/// Uploads parts of one S3 multipart upload on worker threads, several in flight,
/// with back-pressure: `submit` blocks while `workers + maxQueued` parts are queued or
/// uploading, so memory stays bounded by that many parts plus the one being filled.
///
/// Thread safety: every mutable property is read and written only while `condition`
/// is locked, which is why the class can be `@unchecked Sendable`.
final class MultipartUploader: @unchecked Sendable {
    let s3: S3Client
    let bucket: String
    let key: String
    let uploadID: String
    private let workers: Int
    private let maxQueued: Int
    private let condition = NSCondition()
    private var queue: [(Int, [UInt8])] = []
    private var parts: [Int: S3Client.UploadedPart] = [:]
    private var failure: ZipTaskError?
    private var closed = false
    private var running = 0
    private var inFlight = 0
    private(set) var uploadedBytes: Int64 = 0

    init(s3: S3Client, bucket: String, key: String, uploadID: String, workers: Int = 2, maxQueued: Int = 0) {
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.uploadID = uploadID
        self.workers = workers
        self.maxQueued = maxQueued
    }

    func start() {
        condition.lock()
        running = workers
        condition.unlock()
        for _ in 0..<workers {
            let thread = Thread { [self] in self.work() }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Queues part `number`; throws the first upload failure.
    func submit(number: Int, bytes: [UInt8]) throws(ZipTaskError) {
        condition.lock()
        defer { condition.unlock() }
        while queue.count + inFlight >= workers + maxQueued && failure == nil { condition.wait() }
        if let failure { throw failure }
        queue.append((number, bytes))
        condition.broadcast()
    }

    /// Bytes acknowledged by S3 so far.
    var acknowledgedBytes: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return uploadedBytes
    }

    /// Waits for every part; returns them (ETag and CRC-32) in part order.
    func finish() throws(ZipTaskError) -> [S3Client.UploadedPart] {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        if let failure { throw failure }
        return parts.keys.sorted().compactMap { parts[$0] }
    }

    /// Stops the workers after their current part (used on failure elsewhere).
    func cancel() {
        condition.lock()
        if failure == nil { failure = ZipTaskError(.aws, "upload cancelled") }
        closed = true
        queue.removeAll()
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while queue.isEmpty && !closed && failure == nil { condition.wait() }
            if failure != nil || queue.isEmpty {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let (number, bytes) = queue.removeFirst()
            inFlight += 1
            condition.broadcast()
            condition.unlock()

            let result = Result { () throws(ZipTaskError) -> S3Client.UploadedPart in
                try s3.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: number, body: bytes)
            }

            condition.lock()
            inFlight -= 1
            switch result {
            case let .success(part):
                parts[number] = part
                uploadedBytes += Int64(bytes.count)
            case let .failure(error):
                if failure == nil { failure = error }
            }
            condition.broadcast()
            condition.unlock()
        }
    }
}
