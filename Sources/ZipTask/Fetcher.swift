import CurlHTTP
import Foundation

/// One object to fetch onto the work volume.
struct FetchItem: Sendable {
    let index: Int
    let key: String
    let info: S3Client.ObjectInfo
    /// The data file and its bookkeeping file.
    let path: String
    var recordPath: String { path + ".meta" }
}

/// Fetches objects with libcurl's multi interface (`concurrency` transfers at once)
/// on its own thread. Retries 5xx, 429, connection errors and short reads with
/// exponential backoff, resuming partial files with Range requests (If-Match pins
/// the version). The zip stage waits on `waitFor(_:)` file by file.
///
/// Thread safety: `completed`, `failure`, `fetchedBytes` and `cancelled` are accessed
/// only with `condition` locked, hence `@unchecked Sendable`.
final class Fetcher: @unchecked Sendable {
    let s3: S3Client
    let bucket: String
    let items: [FetchItem]
    let concurrency: Int
    let maxAttempts: Int
    private let condition = NSCondition()
    private var completed = Set<Int>()
    private var checksums: [Int: UInt32] = [:]
    private var failure: ZipTaskError?
    private var cancelled = false
    private var finished = false
    private(set) var skipped = 0

    init(s3: S3Client, bucket: String, items: [FetchItem], concurrency: Int, maxAttempts: Int = 6) {
        self.s3 = s3
        self.bucket = bucket
        self.items = items
        self.concurrency = concurrency
        self.maxAttempts = maxAttempts
    }

    /// Marks files already fetched whole as done; returns how many were skipped and their bytes.
    func resumeState() -> (skipped: Int, bytes: Int64, remaining: Int64) {
        var skippedCount = 0
        var skippedBytes: Int64 = 0
        var remaining: Int64 = 0
        for item in items {
            let length = Self.fileLength(item.path)
            switch FetchRecord.decide(record: FetchRecord.load(item.recordPath), fileLength: length, etag: item.info.etag, size: item.info.size) {
            case .skip:
                let crc = FetchRecord.load(item.recordPath)?.crc32 ?? 0
                condition.lock()
                completed.insert(item.index)
                checksums[item.index] = crc
                condition.unlock()
                skippedCount += 1
                skippedBytes += item.info.size
            case let .resume(from):
                remaining += item.info.size - from
            case .restart:
                remaining += item.info.size
            }
        }
        skipped = skippedCount
        return (skippedCount, skippedBytes, remaining)
    }

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Blocks until item `index` is fetched whole, or throws the fetch failure.
    func waitFor(_ index: Int) throws(ZipTaskError) {
        condition.lock()
        defer { condition.unlock() }
        while !completed.contains(index) && failure == nil && !cancelled { condition.wait() }
        if completed.contains(index) { return }
        throw failure ?? ZipTaskError(.aws, "fetching was cancelled")
    }

    /// The CRC-32 of a fetched file, computed as it was downloaded.
    func checksum(_ index: Int) -> UInt32? {
        condition.lock()
        defer { condition.unlock() }
        return checksums[index]
    }

    /// Stops fetching (after a failure elsewhere) and waits for the thread to end.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func fail(_ error: ZipTaskError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    private var shouldStop: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled || failure != nil
    }

    static func fileLength(_ path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }

    private func run() {
        defer {
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        let multi: CurlMulti
        do { multi = try CurlMulti() } catch {
            fail(ZipTaskError(.aws, "cannot start downloads: \(error)"))
            return
        }
        condition.lock()
        var pending = items.filter { !completed.contains($0.index) }.map(\.index)
        condition.unlock()
        var attempts: [Int: Int] = [:]
        var retryAt: [Int: Date] = [:]
        var lastError: [Int: String] = [:]
        var active: [Int: Int32] = [:]  // index -> fd
        var sums: [Int: DownloadChecksum] = [:]
        let total = items.reduce(Int64(0)) { $0 + $1.info.size }
        let meter = ProgressMeter(stage: "fetch", total: total)
        var doneBytes = items.filter { completed.contains($0.index) }.reduce(Int64(0)) { $0 + $1.info.size }

        func complete(_ item: FetchItem, crc: UInt32) {
            try? FetchRecord(etag: item.info.etag, size: item.info.size, complete: true, crc32: crc).save(item.recordPath)
            condition.lock()
            completed.insert(item.index)
            checksums[item.index] = crc
            condition.broadcast()
            condition.unlock()
            doneBytes += item.info.size
            Log.info("fetch", "fetched", [("key", item.key), ("bytes", String(item.info.size))])
        }

        func scheduleRetry(_ item: FetchItem, _ why: String) -> Bool {
            let n = (attempts[item.index] ?? 0) + 1
            attempts[item.index] = n
            lastError[item.index] = why
            if n >= maxAttempts {
                fail(ZipTaskError(.aws, "fetching s3://\(bucket)/\(item.key) failed after \(n) attempts: \(why)"))
                return false
            }
            let delay = Retry.delay(attempt: n)
            retryAt[item.index] = Date().addingTimeInterval(delay)
            pending.insert(item.index, at: 0)
            Log.info("fetch", "retrying", [("key", item.key), ("attempt", String(n + 1)), ("reason", why), ("delay_s", String(format: "%.2f", delay))])
            return true
        }

        while !shouldStop {
            // Start transfers, in list order, up to the concurrency limit.
            let now = Date()
            var i = 0
            while active.count < concurrency && i < pending.count {
                let index = pending[i]
                if let at = retryAt[index], at > now {
                    i += 1
                    continue
                }
                pending.remove(at: i)
                let item = items[index]
                let length = Self.fileLength(item.path)
                let decision = FetchRecord.decide(record: FetchRecord.load(item.recordPath), fileLength: length, etag: item.info.etag, size: item.info.size)
                var offset: Int64 = 0
                if case let .resume(from) = decision { offset = from }
                if case .skip = decision {
                    complete(item, crc: FetchRecord.load(item.recordPath)?.crc32 ?? 0)
                    continue
                }
                if item.info.size == 0 {
                    _ = FileManager.default.createFile(atPath: item.path, contents: nil)
                    complete(item, crc: 0)
                    continue
                }
                let flags = O_WRONLY | O_CREAT | O_APPEND | (offset == 0 ? O_TRUNC : 0)
                let fd = open(item.path, flags, 0o644)
                guard fd >= 0 else {
                    fail(ZipTaskError(.storage, "cannot write \(item.path) on the work volume: \(String(cString: strerror(errno)))"))
                    break
                }
                do {
                    try FetchRecord(etag: item.info.etag, size: item.info.size, complete: false).save(item.recordPath)
                    let sum = DownloadChecksum(prefixOf: offset > 0 ? item.path : nil)
                    sums[index] = sum
                    let easy = try s3.getHandle(bucket: bucket, key: item.key, offset: offset, etag: item.info.etag, fd: fd, tee: sum)
                    easy.tag = index
                    try multi.add(easy)
                    active[index] = fd
                    if offset > 0 { Log.info("fetch", "resuming", [("key", item.key), ("from", String(offset))]) }
                } catch {
                    close(fd)
                    fail(ZipTaskError(.aws, "cannot start fetching s3://\(bucket)/\(item.key): \(error)"))
                    break
                }
            }
            if shouldStop { break }
            if active.isEmpty && pending.isEmpty { break }
            if active.isEmpty {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            let finishedTransfers: [(CurlEasy, Result<HTTPResponse, HTTPError>)]
            do {
                finishedTransfers = try multi.poll(timeoutMilliseconds: 200)
            } catch {
                fail(ZipTaskError(.aws, "download loop failed: \(error)"))
                break
            }
            for (easy, result) in finishedTransfers {
                let index = easy.tag
                let item = items[index]
                if let fd = active.removeValue(forKey: index) { close(fd) }
                let crc = sums.removeValue(forKey: index)?.crc.value ?? 0
                let length = Self.fileLength(item.path) ?? 0
                switch result {
                case let .success(response):
                    switch response.status {
                    case 200, 206:
                        if length == item.info.size {
                            complete(item, crc: crc)
                        } else if length > item.info.size {
                            // The server ignored the Range: start this file over.
                            truncate(item.path, 0)
                            if !scheduleRetry(item, "got \(length) bytes for a \(item.info.size)-byte object") { break }
                        } else if !scheduleRetry(item, "short read: \(length) of \(item.info.size) bytes") {
                            break
                        }
                    case 416 where length == item.info.size:
                        complete(item, crc: DownloadChecksum(prefixOf: item.path).crc.value)
                    case 404:
                        fail(ZipTaskError(.badRequest, "source object s3://\(bucket)/\(item.key) disappeared while the export ran"))
                    case 412:
                        fail(ZipTaskError(.badRequest, "source object s3://\(bucket)/\(item.key) changed while the export ran; run the request again"))
                    default:
                        if AWSResponse.isRetryable(response.status) || response.status == 416 {
                            if response.status == 416 { truncate(item.path, 0) }
                            if !scheduleRetry(item, "HTTP \(response.status)") { break }
                        } else {
                            fail(ZipTaskError(.aws, "fetching s3://\(bucket)/\(item.key) failed: HTTP \(response.status)"))
                        }
                    }
                case let .failure(error):
                    if !scheduleRetry(item, error.message) { break }
                }
            }
            let inProgress = active.keys.reduce(Int64(0)) { $0 + (Self.fileLength(items[$1].path) ?? 0) }
            meter.report(done: doneBytes + inProgress)
        }
        for (_, fd) in active { close(fd) }
        if !shouldStop { meter.report(done: doneBytes, force: true) }
    }
}
