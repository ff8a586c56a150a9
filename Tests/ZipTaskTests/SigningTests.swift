import CurlHTTP
import Foundation
import TestSupport
import Testing
import ZipTask

struct PresignerTests {
    /// AWS's published example ("Authenticating Requests: Using Query Parameters", Signature Version 4).
    @Test func matchesAwsPublishedVector() {
        let credentials = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: nil)
        let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
        let url = Presigner(credentials: credentials, region: "us-east-1")
            .presignGET(url: "https://examplebucket.s3.amazonaws.com/test.txt", expires: 86400, date: date)
        #expect(
            url
                == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        )
    }

    @Test func sessionTokensAreSigned() {
        let credentials = AWSCredentials(accessKeyID: "AK", secretAccessKey: "S", sessionToken: "tok/en+=")
        let url = Presigner(credentials: credentials, region: "eu-west-1").presignGET(url: "http://127.0.0.1:9000/b/k%20x", expires: 60)
        #expect(url.hasPrefix("http://127.0.0.1:9000/b/k%20x?"))
        #expect(url.contains("X-Amz-Security-Token=tok%2Fen%2B%3D"))
    }

    @Test func keysAreEncodedForUrls() {
        #expect(S3Client.encodeKey("a b/ü?#&.txt") == "a%20b/%C3%BC%3F%23%26.txt")
        #expect(
            S3Client(endpoint: "http://h:1", region: "r", credentials: AWSCredentials(accessKeyID: "a", secretAccessKey: "b", sessionToken: nil))
                .url(bucket: "bk", key: "../x") == "http://h:1/bk/../x")
    }

    /// S3's checksum forms: a part's CRC-32 as base64 of its big-endian bytes, and a multipart
    /// object's COMPOSITE checksum, the CRC-32 of the part CRC-32s with the part count
    /// (vectors computed with Python's binascii.crc32, as moto and S3 do).
    @Test func crc32ChecksumsTakeS3sForms() {
        #expect(S3Client.checksumText(0xCBF4_3926) == "y/Q5Jg==")  // CRC-32 of "123456789"
        func crc(_ text: String) -> UInt32 {
            var c = CRC32()
            Array(text.utf8).withUnsafeBytes { c.update($0) }
            return c.value
        }
        #expect(crc("123456789") == 0xCBF4_3926)
        #expect(S3Client.compositeChecksum(partCRCs: [crc("hello"), crc("world")]) == "wpn7tg==-2")
        #expect(S3Client.compositeChecksum(partCRCs: [crc("world"), crc("hello")]) != "wpn7tg==-2")
    }
}

/// SigV4 proven against a server that checks it: rclone's S3 refuses bad signatures (moto accepts anything).
@Suite(.serialized)
struct StrictS3SigningTests {
    static let key = "AKSTRICTTEST"
    static let secret = "strict/secret+key"

    func withStrictS3(_ body: (String, String) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("strict-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/src/dir with space", withIntermediateDirectories: true)
        try Data((1...20000).map { "line \($0)\n" }.joined().utf8).write(to: URL(fileURLWithPath: root + "/src/dir with space/ünï cödé.txt"))
        try FileManager.default.createDirectory(atPath: root + "/dst", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await LocalServers.withStrictS3(root: root, accessKey: Self.key, secret: Self.secret) { endpoint in
            try await body(endpoint, root)
        }
    }

    @Test func headGetAndMultipartUploadVerify() async throws {
        try await withStrictS3 { endpoint, root in
            let good = S3Client(
                endpoint: endpoint, region: "us-east-1", credentials: AWSCredentials(accessKeyID: Self.key, secretAccessKey: Self.secret, sessionToken: nil))
            let objectKey = "dir with space/ünï cödé.txt"
            let info = try #require(try good.head(bucket: "src", key: objectKey))
            #expect(info.size == Int64((1...20000).map { "line \($0)\n" }.joined().utf8.count))

            let path = root + "/fetched"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let easy = try good.getHandle(bucket: "src", key: objectKey, offset: 0, etag: nil, fd: fd)
            let response = try easy.perform()
            close(fd)
            #expect(response.status == 200)
            #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: root + "/src/" + objectKey))

            // A resumed (ranged, If-Match) GET verifies too. rclone ignores Range and answers 200,
            // which the fetcher handles by starting that file over.
            let fd2 = open(path + ".part", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let ranged = try good.getHandle(bucket: "src", key: objectKey, offset: 100, etag: info.etag, fd: fd2)
            #expect([200, 206].contains(try ranged.perform().status))
            close(fd2)

            let id = try good.createMultipartUpload(bucket: "dst", key: "out/a b.zip", contentType: "application/zip")
            let part1 = [UInt8](repeating: 65, count: 5 << 20)
            let e1 = try good.uploadPart(bucket: "dst", key: "out/a b.zip", uploadID: id, partNumber: 1, body: part1)
            let e2 = try good.uploadPart(bucket: "dst", key: "out/a b.zip", uploadID: id, partNumber: 2, body: [66, 67])
            try good.completeMultipartUpload(bucket: "dst", key: "out/a b.zip", uploadID: id, parts: [e1, e2])
            #expect(try good.head(bucket: "dst", key: "out/a b.zip")?.size == Int64(part1.count + 2))

            // The presigned URL works with plain curl; a tampered one is refused.
            let presigned = Presigner(credentials: good.credentials, region: "us-east-1").presignGET(url: good.url(bucket: "src", key: objectKey), expires: 300)
            let ok = try await Command.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", presigned])
            #expect(ok.stdout == "200")
            let tampered = presigned.replacingOccurrences(of: "X-Amz-Expires=300", with: "X-Amz-Expires=301")
            let refused = try await Command.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", tampered])
            #expect(refused.stdout == "403")
        }
    }

    @Test func aWrongSecretIsRefused() async throws {
        try await withStrictS3 { endpoint, _ in
            let bad = S3Client(
                endpoint: endpoint, region: "us-east-1", credentials: AWSCredentials(accessKeyID: Self.key, secretAccessKey: "wrong", sessionToken: nil))
            #expect(throws: ZipTaskError.self) { _ = try bad.head(bucket: "src", key: "dir with space/ünï cödé.txt") }
            #expect(throws: ZipTaskError.self) { _ = try bad.createMultipartUpload(bucket: "dst", key: "x.zip", contentType: "application/zip") }
        }
    }
}
