import Crypto
import CurlHTTP
import Foundation

/// The zip export job: DynamoDB request → S3 fetch onto the work volume →
/// libarchive zip streamed into an S3 multipart upload → verify → presigned URL →
/// SES email. Fetching, zipping and uploading overlap.
public struct ZipPipeline {
    public let config: TaskConfiguration
    public let credentials: AWSCredentials
    /// Multipart part size (S3's minimum is 5 MiB).
    public var partSize = 8 << 20

    public init(config: TaskConfiguration, credentials: AWSCredentials) {
        self.config = config
        self.credentials = credentials
    }

    /// What the job produced.
    public struct Outcome: Sendable {
        public var zipKey: String
        public var zipBytes: Int64
        public var zipSHA256: String
        public var url: String
        public var fileCount: Int
    }

    var s3: S3Client { S3Client(endpoint: config.endpoints.s3, region: config.region, credentials: credentials) }
    var dynamo: DynamoDBClient { DynamoDBClient(endpoint: config.endpoints.dynamoDBURL, region: config.region, credentials: credentials) }
    var ses: SESClient { SESClient(endpoint: config.endpoints.sesURL, region: config.region, credentials: credentials) }

    /// Runs the job; on any failure the request item is marked FAILED with the error and the error is rethrown.
    public func run() throws(ZipTaskError) -> Outcome {
        do {
            return try process()
        } catch {
            Log.error("failed", error.message, [("exit_code", String(error.exitCode))])
            do {
                try dynamo.update(
                    table: config.requestsTable, id: config.requestID,
                    set: ["status": "FAILED", "error": error.message, "failedAt": Self.timestamp()])
            } catch let recordError {
                Log.error("failed", "could not record the failure on the request item", [("reason", recordError.message)])
            }
            throw error
        }
    }

    static func timestamp() -> String { UTCDate.iso8601(Date()) }

    private func process() throws(ZipTaskError) -> Outcome {
        let started = Date()
        Log.info("request", "reading the request", [("requestId", config.requestID), ("table", config.requestsTable)])
        guard let item = try dynamo.getRequest(table: config.requestsTable, id: config.requestID) else {
            throw ZipTaskError(.badRequest, "request \(config.requestID) was not found in table \(config.requestsTable)")
        }
        guard let keys = AttributeValue.strings(item, "files") else {
            throw ZipTaskError(.badRequest, "request \(config.requestID) has no \"files\" list of S3 keys")
        }
        guard !keys.isEmpty else { throw ZipTaskError(.badRequest, "request \(config.requestID) lists no files") }
        guard keys.count <= config.maxFiles else {
            throw ZipTaskError(.badRequest, "request \(config.requestID) lists \(keys.count) files; at most \(config.maxFiles) are allowed (MAX_FILES)")
        }
        guard let email = AttributeValue.string(item, "email"), email.contains("@") else {
            throw ZipTaskError(.badRequest, "request \(config.requestID) has no valid \"email\" to send the link to")
        }
        try dynamo.update(table: config.requestsTable, id: config.requestID, set: ["status": "RUNNING", "startedAt": Self.timestamp()])

        // HEAD every object first: sizes, ETags, dates; refuse early.
        Log.info("head", "checking source objects", [("count", String(keys.count)), ("bucket", config.sourceBucket)])
        var infos: [S3Client.ObjectInfo] = []
        for key in keys {
            guard let info = try s3.head(bucket: config.sourceBucket, key: key) else {
                throw ZipTaskError(.badRequest, "source object s3://\(config.sourceBucket)/\(key) does not exist")
            }
            infos.append(info)
        }
        let totalBytes = infos.reduce(Int64(0)) { $0 + $1.size }
        let names = EntryNames.make(for: keys)
        for (key, name) in zip(keys, names) where key != name {
            Log.info("head", "entry renamed for safety", [("key", key), ("entry", name)])
        }

        let requestDir = (config.workDirectory as NSString).appendingPathComponent(config.requestID)
        let filesDir = (requestDir as NSString).appendingPathComponent("files")
        do {
            try FileManager.default.createDirectory(atPath: filesDir, withIntermediateDirectories: true)
        } catch {
            throw ZipTaskError(.storage, "cannot create \(filesDir) on the work volume: \(error.localizedDescription)")
        }
        let items = keys.enumerated().map { i, key in
            FetchItem(index: i, key: key, info: infos[i], path: (filesDir as NSString).appendingPathComponent(Self.fileName(for: key)))
        }
        let fetcher = Fetcher(s3: s3, bucket: config.sourceBucket, items: items, concurrency: config.fetchConcurrency)
        let state = fetcher.resumeState()
        if state.skipped > 0 {
            Log.info("fetch", "resuming: files already fetched are skipped", [("skipped", String(state.skipped)), ("bytes", String(state.bytes))])
        }
        try checkSpace(needed: state.remaining, directory: filesDir)

        let zipKey = "\(config.destinationPrefix)\(config.requestID).zip"
        // A run that was killed left its upload open: abort it so no parts linger.
        for stale in (try? s3.inProgressUploads(bucket: config.destinationBucket, key: zipKey)) ?? [] {
            s3.abortMultipartUpload(bucket: config.destinationBucket, key: zipKey, uploadID: stale)
            Log.info("upload", "aborted the upload a previous run left open", [("zipKey", zipKey)])
        }
        let uploadID = try s3.createMultipartUpload(bucket: config.destinationBucket, key: zipKey, contentType: "application/zip")
        let uploader = MultipartUploader(s3: s3, bucket: config.destinationBucket, key: zipKey, uploadID: uploadID, workers: 2)
        uploader.start()
        fetcher.start()
        Log.info("zip", "fetching, zipping and uploading", [("files", String(keys.count)), ("bytes", String(totalBytes)), ("zipKey", zipKey)])

        let zipped: (sha: String, bytes: Int64, crcs: [UInt32], tail: [UInt8], tailOffset: Int64)
        let parts: [S3Client.UploadedPart]
        do {
            zipped = try writeZip(items: items, names: names, fetcher: fetcher, uploader: uploader, totalBytes: totalBytes)
            Log.info("zip", "archive written", [("bytes", String(zipped.bytes))])
            parts = try uploader.finish()
            Log.info("upload", "all parts uploaded", [("parts", String(parts.count))])
            try s3.completeMultipartUpload(bucket: config.destinationBucket, key: zipKey, uploadID: uploadID, parts: parts)
            Log.info("upload", "multipart upload completed", [("zipKey", zipKey)])
        } catch {
            fetcher.cancel()
            uploader.cancel()
            s3.abortMultipartUpload(bucket: config.destinationBucket, key: zipKey, uploadID: uploadID)
            Log.error("upload", "aborted the multipart upload; no partial zip is visible", [("zipKey", zipKey)])
            throw error
        }
        fetcher.cancel()

        // A zip that fails verification is deleted: no bad object is left behind a link.
        let entryCount: Int
        do {
            entryCount = try verify(zipped: zipped, parts: parts, items: items, names: names, zipKey: zipKey)
        } catch {
            s3.deleteObject(bucket: config.destinationBucket, key: zipKey)
            Log.error("verify", "deleted the zip that failed verification", [("zipKey", zipKey)])
            throw error
        }
        Log.info("verify", "zip verified", [("entries", String(entryCount)), ("bytes", String(zipped.bytes)), ("sha256", zipped.sha)])

        let objectURL = s3.url(bucket: config.destinationBucket, key: zipKey)
        let url = Presigner(credentials: credentials, region: config.region).presignGET(url: objectURL, expires: config.urlExpiresSeconds)
        Log.info("presign", "download link ready", [("expires_s", String(config.urlExpiresSeconds))])

        let expiresAt = UTCDate.iso8601(Date().addingTimeInterval(Double(config.urlExpiresSeconds)))
        let size = Log.bytes(zipped.bytes)
        let text =
            "Your export \(config.requestID) is ready: \(keys.count) file\(keys.count == 1 ? "" : "s"), \(size) zipped.\n\nDownload it here (the link works until \(expiresAt)):\n\(url)\n"
        let html =
            "<p>Your export <b>\(XMLText.escape(config.requestID))</b> is ready: \(keys.count) file\(keys.count == 1 ? "" : "s"), \(size) zipped.</p><p><a href=\"\(XMLText.escape(url))\">Download the zip</a> (the link works until \(expiresAt)).</p>"
        let messageID = try ses.sendEmail(
            from: config.senderEmail, to: email, subject: "Your files are ready (\(keys.count) file\(keys.count == 1 ? "" : "s"), \(size))", text: text,
            html: html)
        Log.info("email", "email sent", [("to", email), ("messageId", messageID)])

        try dynamo.update(
            table: config.requestsTable, id: config.requestID,
            set: [
                "status": "COMPLETED", "zipKey": zipKey, "zipBytes": zipped.bytes, "zipSha256": zipped.sha,
                "url": url, "fileCount": keys.count, "completedAt": Self.timestamp(), "error": "",
            ])
        try? FileManager.default.removeItem(atPath: requestDir)
        let seconds = Date().timeIntervalSince(started)
        Log.info(
            "done", "export complete",
            [
                ("files", String(keys.count)), ("input_bytes", String(totalBytes)), ("zip_bytes", String(zipped.bytes)),
                ("seconds", String(format: "%.2f", seconds)),
            ])
        return Outcome(zipKey: zipKey, zipBytes: zipped.bytes, zipSHA256: zipped.sha, url: url, fileCount: keys.count)
    }

    /// Checks the archive before it is announced: the central directory libarchive wrote lists
    /// every entry with the CRC and size of what was fed in, and S3 holds exactly the bytes
    /// streamed. Returns the number of entries.
    private func verify(
        zipped: (sha: String, bytes: Int64, crcs: [UInt32], tail: [UInt8], tailOffset: Int64),
        parts: [S3Client.UploadedPart], items: [FetchItem], names: [String], zipKey: String
    ) throws(ZipTaskError) -> Int {
        let directory = try CentralDirectory.parse(tail: zipped.tail, tailOffset: zipped.tailOffset)
        guard directory.entries.count == items.count else {
            throw ZipTaskError(.storage, "zip verification failed: \(directory.entries.count) entries for \(items.count) files")
        }
        for (i, entry) in directory.entries.enumerated() {
            guard entry.name == names[i], entry.crc32 == zipped.crcs[i], entry.uncompressedSize == UInt64(items[i].info.size) else {
                throw ZipTaskError(.storage, "zip verification failed for \(names[i]): the archive does not match the source")
            }
        }
        guard let uploaded = try s3.head(bucket: config.destinationBucket, key: zipKey, checksumMode: true), uploaded.size == zipped.bytes else {
            throw ZipTaskError(.aws, "zip verification failed: s3://\(config.destinationBucket)/\(zipKey) does not hold the \(zipped.bytes) bytes uploaded")
        }
        // AWS checks each part against its CRC-32 as it arrives (moto does not). The object's
        // composite checksum, which S3 computes from the bytes it holds, shows that it holds
        // exactly the parts sent, in order. S3-compatible stores without checksums report none.
        if let stored = uploaded.checksumCRC32 {
            let expected = S3Client.compositeChecksum(partCRCs: parts.map(\.crc32))
            guard stored == expected || "\(stored)-\(parts.count)" == expected else {
                throw ZipTaskError(
                    .aws, "zip verification failed: s3://\(config.destinationBucket)/\(zipKey) has checksum \(stored), the parts uploaded give \(expected)")
            }
        }
        return directory.entries.count
    }

    /// Streams each file, as soon as it is fetched, through libarchive into the multipart upload.
    private func writeZip(
        items: [FetchItem], names: [String], fetcher: Fetcher, uploader: MultipartUploader,
        totalBytes: Int64
    ) throws(ZipTaskError) -> (sha: String, bytes: Int64, crcs: [UInt32], tail: [UInt8], tailOffset: Int64) {
        let stream = ZipOutputStream(uploader: uploader, partSize: partSize, tailLimit: (1 << 20) + items.count * 1024)
        let writer = try ZipArchiveWriter(deflateLevel: config.deflateLevel, sink: { stream.receive($0) })
        let meter = ProgressMeter(stage: "zip", total: totalBytes)
        var crcs: [UInt32] = []
        var fed: Int64 = 0
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        for (item, name) in zip(items, names) {
            try fetcher.waitFor(item.index)
            let compression = CompressionChoice.choose(path: item.path, level: config.deflateLevel)
            Log.info("zip", "adding entry", [("entry", name), ("bytes", String(item.info.size)), ("compression", compression == .store ? "store" : "deflate")])
            do {
                try writer.beginEntry(name: name, size: item.info.size, modified: item.info.lastModified, compression: compression)
            } catch {
                throw stream.failure ?? error
            }
            let fd = open(item.path, O_RDONLY)
            guard fd >= 0 else { throw ZipTaskError(.storage, "cannot read \(item.path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var fileBytes: Int64 = 0
            while true {
                let n = read(fd, buffer.baseAddress, chunk)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ZipTaskError(.storage, "cannot read \(item.path): \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }
                let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                do {
                    try writer.write(slice)
                } catch {
                    throw stream.failure ?? error
                }
                fileBytes += Int64(n)
                fed += Int64(n)
                meter.report(done: fed)
            }
            guard fileBytes == item.info.size else {
                throw ZipTaskError(.storage, "\(item.path) holds \(fileBytes) bytes; \(item.info.size) were expected")
            }
            do {
                try writer.finishEntry()
            } catch {
                throw stream.failure ?? error
            }
            // The CRC computed while downloading; the central directory must agree with it.
            crcs.append(fetcher.checksum(item.index) ?? 0)
        }
        do {
            try writer.close()
        } catch {
            throw stream.failure ?? error
        }
        meter.report(done: fed, force: true)
        let sha = try stream.finish()
        return (sha, stream.totalBytes, crcs, stream.tail, stream.tailOffset)
    }

    /// Refuses early when the work volume cannot hold what is left to fetch.
    private func checkSpace(needed: Int64, directory: String) throws(ZipTaskError) {
        var fs = statvfs()
        guard statvfs(directory, &fs) == 0 else { return }
        let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
        let margin: Int64 = 16 << 20
        if needed + margin > free {
            throw ZipTaskError(
                .storage,
                "not enough space on the work volume \(config.workDirectory): \(Log.bytes(needed)) still to fetch, \(Log.bytes(free)) free (the zip itself is streamed to S3 and needs no space)"
            )
        }
    }

    /// The work-volume file for a key: its SHA-256, so no key ever becomes a path.
    static func fileName(for key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined() + ".data"
    }
}
