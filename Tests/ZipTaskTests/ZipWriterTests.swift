import CArchive
import Foundation
import Testing
import ZipTask

struct ZipWriterTests {
    /// Writes a zip to memory with the task's writer and reads it back with libarchive's reader.
    @Test func roundTripsThroughLibarchive() throws {
        var zipBytes: [UInt8] = []
        let writer = try ZipArchiveWriter(deflateLevel: 1) { chunk in
            zipBytes.append(contentsOf: chunk)
            return true
        }
        var random = SystemRandomNumberGenerator()
        let files: [(String, [UInt8], CompressionChoice)] = [
            ("random.bin", (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }, .store),
            ("dir/text.log", Array((1...50_000).map { "GET /index.html 200 \($0)\n" }.joined().utf8), .deflate(level: 1)),
            ("empty.txt", [], .store),
        ]
        var crcs: [UInt32] = []
        for (name, data, compression) in files {
            try writer.beginEntry(name: name, size: Int64(data.count), modified: Date(timeIntervalSince1970: 1_700_000_000), compression: compression)
            try data.withUnsafeBytes { try writer.write($0) }
            try writer.finishEntry()
            var crc = CRC32()
            data.withUnsafeBytes { crc.update($0) }
            crcs.append(crc.value)
        }
        try writer.close()

        let directory = try CentralDirectory.parse(tail: zipBytes, tailOffset: 0)
        #expect(directory.entries.map(\.name) == files.map(\.0))
        #expect(directory.entries.map(\.crc32) == crcs)
        #expect(directory.entries.map(\.uncompressedSize) == files.map { UInt64($0.1.count) })
        #expect(directory.entries[0].method == 0)
        #expect(directory.entries[1].method == 8)
        #expect(directory.entries[1].compressedSize < directory.entries[1].uncompressedSize / 3)

        // libarchive's own reader gets the same bytes back.
        let reader = try #require(archive_read_new())
        defer { archive_read_free(reader) }
        archive_read_support_format_zip(reader)
        let rc = zipBytes.withUnsafeBytes { archive_read_open_memory(reader, $0.baseAddress, $0.count) }
        #expect(rc == ARCHIVE_OK)
        var entry: OpaquePointer?
        var index = 0
        while archive_read_next_header(reader, &entry) == ARCHIVE_OK {
            let name = String(cString: archive_entry_pathname(entry))
            #expect(name == files[index].0)
            #expect(archive_entry_mtime(entry) == 1_700_000_000)
            var content: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                content.append(contentsOf: buffer[0..<n])
            }
            #expect(content == files[index].1, "\(name)")
            index += 1
        }
        #expect(index == files.count)
    }

    @Test func incompressibleDataIsStoredAndTextDeflated() {
        var random = SystemRandomNumberGenerator()
        let noise = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let text = Array(String(repeating: "2024-01-01T00:00:00Z INFO request served in 12ms\n", count: 20000).utf8)
        #expect(noise.withUnsafeBytes { CompressionChoice.choose(sample: $0, level: 1) } == .store)
        #expect(text.withUnsafeBytes { CompressionChoice.choose(sample: $0, level: 6) } == .deflate(level: 6))
        #expect([UInt8]().withUnsafeBytes { CompressionChoice.choose(sample: $0, level: 1) } == .store)
    }

    @Test func crcMatchesZlibReference() {
        var crc = CRC32()
        Array("123456789".utf8).withUnsafeBytes { crc.update($0) }
        #expect(crc.value == 0xCBF4_3926)
    }

    @Test func aFailingSinkFailsTheWrite() throws {
        let writer = try ZipArchiveWriter { _ in false }
        let data = [UInt8](repeating: 1, count: 1 << 20)
        #expect(throws: ZipTaskError.self) {
            try writer.beginEntry(name: "a", size: Int64(data.count), modified: nil, compression: .store)
            try data.withUnsafeBytes { try writer.write($0) }
            try writer.finishEntry()
            try writer.close()
        }
    }
}

struct ResumeBookkeepingTests {
    @Test func decisions() {
        let etag = "\"abc\""
        #expect(FetchRecord.decide(record: nil, fileLength: nil, etag: etag, size: 10) == .restart)
        #expect(FetchRecord.decide(record: nil, fileLength: 5, etag: etag, size: 10) == .restart)
        #expect(FetchRecord.decide(record: FetchRecord(etag: etag, size: 10, complete: true, crc32: 7), fileLength: 10, etag: etag, size: 10) == .skip)
        // A record without the download's CRC (an older run) is fetched again.
        #expect(FetchRecord.decide(record: FetchRecord(etag: etag, size: 10, complete: true), fileLength: 10, etag: etag, size: 10) == .restart)
        #expect(FetchRecord.decide(record: FetchRecord(etag: etag, size: 10, complete: true), fileLength: 7, etag: etag, size: 10) == .restart)
        #expect(FetchRecord.decide(record: FetchRecord(etag: etag, size: 10, complete: false), fileLength: 4, etag: etag, size: 10) == .resume(from: 4))
        #expect(FetchRecord.decide(record: FetchRecord(etag: etag, size: 10, complete: false), fileLength: 0, etag: etag, size: 10) == .restart)
        #expect(FetchRecord.decide(record: FetchRecord(etag: etag, size: 10, complete: false), fileLength: 12, etag: etag, size: 10) == .restart)
        // A new version of the object invalidates what was fetched.
        #expect(FetchRecord.decide(record: FetchRecord(etag: "\"old\"", size: 10, complete: true), fileLength: 10, etag: etag, size: 10) == .restart)
        #expect(FetchRecord.decide(record: FetchRecord(etag: etag, size: 9, complete: true), fileLength: 10, etag: etag, size: 10) == .restart)
    }
}

struct ConfigurationTests {
    let base = ["REQUEST_ID": "req-1", "SOURCE_BUCKET": "src"]

    @Test func defaults() throws {
        let c = try TaskConfiguration.fromEnvironment(base)
        #expect(c.requestsTable == "zip-requests")
        #expect(c.destinationBucket == "src")
        #expect(c.destinationPrefix == "exports/")
        #expect(c.workDirectory == "/mnt/efs")
        #expect(c.urlExpiresSeconds == 86400)
        #expect(c.senderEmail == "noreply@example.com")
        #expect(c.maxFiles == 30)
        #expect(c.fetchConcurrency == 4)
        #expect(c.region == "us-east-1")
        #expect(c.endpoints.s3 == nil)
        #expect(c.endpoints.dynamoDBURL == "https://dynamodb.us-east-1.amazonaws.com")
    }

    @Test func endpointsFollowSdkPrecedence() throws {
        var env = base
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5000/"
        env["AWS_ENDPOINT_URL_SES"] = "http://127.0.0.1:6000"
        env["AWS_REGION"] = "eu-central-1"
        env["DEST_PREFIX"] = "out"
        let c = try TaskConfiguration.fromEnvironment(env)
        #expect(c.endpoints.s3 == "http://127.0.0.1:5000")
        #expect(c.endpoints.dynamoDBURL == "http://127.0.0.1:5000")
        #expect(c.endpoints.sesURL == "http://127.0.0.1:6000")
        #expect(c.region == "eu-central-1")
        #expect(c.destinationPrefix == "out/")
    }

    @Test(arguments: [
        ["SOURCE_BUCKET": "src"],
        ["REQUEST_ID": "req", "SOURCE_BUCKET": ""],
        ["REQUEST_ID": "../etc", "SOURCE_BUCKET": "src"],
        ["REQUEST_ID": "a/b", "SOURCE_BUCKET": "src"],
        ["REQUEST_ID": "..", "SOURCE_BUCKET": "src"],
        ["REQUEST_ID": "r", "SOURCE_BUCKET": "s", "URL_EXPIRES_SECONDS": "604801"],
        ["REQUEST_ID": "r", "SOURCE_BUCKET": "s", "MAX_FILES": "many"],
        ["REQUEST_ID": "r", "SOURCE_BUCKET": "s", "FETCH_CONCURRENCY": "0"],
    ])
    func invalidEnvironmentIsABadRequest(env: [String: String]) {
        #expect(throws: ZipTaskError.self) { _ = try TaskConfiguration.fromEnvironment(env) }
        do { _ = try TaskConfiguration.fromEnvironment(env) } catch { #expect(error.exitCode == 2) }
    }
}
