import CurlHTTP
import Foundation

/// The S3 operations the zip task needs, signed by libcurl (`CURLOPT_AWS_SIGV4`).
/// Requests carry `x-amz-content-sha256: UNSIGNED-PAYLOAD`, which S3 needs to verify
/// libcurl 7.88's signatures.
public struct S3Client: Sendable {
    public let endpoint: String?
    public let region: String
    public let credentials: AWSCredentials
    let http = HTTPClient()

    public init(endpoint: String?, region: String, credentials: AWSCredentials) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
    }

    /// Metadata of an object.
    public struct ObjectInfo: Sendable, Equatable {
        public var size: Int64
        public var etag: String
        public var lastModified: Date?
        /// `x-amz-checksum-crc32`, when asked for (`checksumMode`) and S3 keeps one.
        public var checksumCRC32: String? = nil
    }

    /// Percent-encodes a key for a URL path: every byte but unreserved characters and "/".
    public static func encodeKey(_ key: String) -> String {
        var out = ""
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Path-style `ENDPOINT/BUCKET/KEY` with an endpoint, else virtual-hosted AWS S3.
    public func url(bucket: String, key: String, query: String? = nil) -> String {
        let base =
            endpoint.map { "\($0)/\(bucket)/\(Self.encodeKey(key))" }
            ?? "https://\(bucket).s3.\(region).amazonaws.com/\(Self.encodeKey(key))"
        return query.map { "\(base)?\($0)" } ?? base
    }

    func request(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, timeout: Int = 300) -> HTTPRequest {
        HTTPRequest(
            method: method, url: url, headers: [("x-amz-content-sha256", "UNSIGNED-PAYLOAD")] + headers, body: body,
            signing: credentials.signing(region: region, service: "s3"), timeoutSeconds: timeout)
    }

    /// HEAD: size, ETag and Last-Modified (and the CRC-32 checksum with `checksumMode`);
    /// nil when the object does not exist.
    public func head(bucket: String, key: String, checksumMode: Bool = false) throws(ZipTaskError) -> ObjectInfo? {
        let response: HTTPResponse
        do {
            response = try AWSResponse.send(
                http,
                request(
                    "HEAD", url(bucket: bucket, key: key),
                    headers: checksumMode ? [("x-amz-checksum-mode", "ENABLED")] : [], timeout: 60))
        } catch {
            throw ZipTaskError(.aws, "HEAD s3://\(bucket)/\(key) failed: \(error)")
        }
        if response.status == 404 { return nil }
        guard response.status == 200 else {
            throw ZipTaskError(
                .aws,
                "HEAD s3://\(bucket)/\(key) answered HTTP \(response.status)\(response.status == 403 ? " (access denied: check the task role's s3:GetObject permission)" : "")"
            )
        }
        guard let size = response.headers["content-length"].flatMap({ Int64($0) }) else {
            throw ZipTaskError(.aws, "HEAD s3://\(bucket)/\(key) gave no Content-Length")
        }
        let modified = response.headers["last-modified"].flatMap(UTCDate.parseHTTP)
        return ObjectInfo(
            size: size, etag: response.headers["etag"] ?? "", lastModified: modified,
            checksumCRC32: response.headers["x-amz-checksum-crc32"])
    }

    /// A GET of `key` from byte `offset` (a Range request when > 0), written to `fd`, as a handle to run in a multi.
    public func getHandle(bucket: String, key: String, offset: Int64, etag: String?, fd: Int32, tee: (any BodyTee)? = nil) throws(HTTPError) -> CurlEasy {
        var headers: [(String, String)] = []
        if offset > 0 { headers.append(("Range", "bytes=\(offset)-")) }
        if let etag, !etag.isEmpty { headers.append(("If-Match", etag)) }
        return try CurlEasy(
            request("GET", url(bucket: bucket, key: key), headers: headers, timeout: 0), sink: .fileDescriptor(fd, resumed: offset > 0, tee: tee))
    }

    /// One uploaded part: its ETag and the CRC-32 S3 checked it against (base64 of the big-endian value).
    public struct UploadedPart: Sendable, Equatable {
        public var etag: String
        public var crc32: UInt32
        public var checksumCRC32: String { S3Client.checksumText(crc32) }
    }

    /// The base64 form of a CRC-32 that S3's `x-amz-checksum-crc32` carries.
    public static func checksumText(_ crc: UInt32) -> String {
        Data([UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]).base64EncodedString()
    }

    /// The object checksum S3 reports for a multipart upload made with CRC-32 part checksums
    /// (COMPOSITE): the CRC-32 of the parts' CRC-32s, followed by `-` and the part count.
    public static func compositeChecksum(partCRCs: [UInt32]) -> String {
        var bytes: [UInt8] = []
        for crc in partCRCs { bytes += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)] }
        var crc = CRC32()
        bytes.withUnsafeBytes { crc.update($0) }
        return "\(checksumText(crc.value))-\(partCRCs.count)"
    }

    /// CreateMultipartUpload with CRC-32 part checksums (S3 checks every part against its
    /// checksum on arrival); returns the upload id.
    public func createMultipartUpload(bucket: String, key: String, contentType: String) throws(ZipTaskError) -> String {
        let r: HTTPResponse
        do {
            r = try AWSResponse.send(
                http,
                request(
                    "POST", url(bucket: bucket, key: key, query: "uploads="),
                    headers: [("Content-Type", contentType), ("x-amz-checksum-algorithm", "CRC32")]))
        } catch {
            throw ZipTaskError(.aws, "starting the upload of s3://\(bucket)/\(key) failed: \(error)")
        }
        guard r.status == 200, let id = XMLText.first("UploadId", in: r.bodyText), !id.isEmpty else {
            throw ZipTaskError(.aws, "starting the upload of s3://\(bucket)/\(key) failed: \(AWSResponse.errorSummary(r))")
        }
        return id
    }

    /// UploadPart with the part's CRC-32 (`x-amz-checksum-crc32`), so S3 refuses a part damaged
    /// on the way; returns its ETag and checksum. Retries transient failures.
    public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int, body: [UInt8]) throws(ZipTaskError) -> UploadedPart {
        let query = "partNumber=\(partNumber)&uploadId=\(Self.encodeQueryValue(uploadID))"
        var crc = CRC32()
        body.withUnsafeBytes { crc.update($0) }
        let checksum = Self.checksumText(crc.value)
        let r: HTTPResponse
        do {
            r = try AWSResponse.send(
                http,
                request(
                    "PUT", url(bucket: bucket, key: key, query: query),
                    headers: [("x-amz-checksum-crc32", checksum)], body: body), attempts: 6)
        } catch {
            throw ZipTaskError(.aws, "uploading part \(partNumber) of s3://\(bucket)/\(key) failed: \(error)")
        }
        guard r.status == 200, let etag = r.headers["etag"] else {
            throw ZipTaskError(.aws, "uploading part \(partNumber) of s3://\(bucket)/\(key) failed: \(AWSResponse.errorSummary(r))")
        }
        if let echoed = r.headers["x-amz-checksum-crc32"], echoed != checksum {
            throw ZipTaskError(.aws, "uploading part \(partNumber) of s3://\(bucket)/\(key) failed: S3 computed CRC-32 \(echoed), the part has \(checksum)")
        }
        return UploadedPart(etag: etag, crc32: crc.value)
    }

    /// CompleteMultipartUpload with the parts' ETags and CRC-32s in order.
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [UploadedPart]) throws(ZipTaskError) {
        var xml = "<CompleteMultipartUpload>"
        for (i, part) in parts.enumerated() {
            xml += "<Part><PartNumber>\(i + 1)</PartNumber><ETag>\(XMLText.escape(part.etag))</ETag><ChecksumCRC32>\(part.checksumCRC32)</ChecksumCRC32></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let r: HTTPResponse
        do {
            r = try AWSResponse.send(
                http,
                request(
                    "POST", url(bucket: bucket, key: key, query: "uploadId=\(Self.encodeQueryValue(uploadID))"),
                    headers: [("Content-Type", "application/xml")], body: Array(xml.utf8)))
        } catch {
            throw ZipTaskError(.aws, "completing the upload of s3://\(bucket)/\(key) failed: \(error)")
        }
        // S3 may answer 200 with an <Error> body.
        guard r.status == 200, !r.bodyText.contains("<Error>") else {
            throw ZipTaskError(.aws, "completing the upload of s3://\(bucket)/\(key) failed: \(AWSResponse.errorSummary(r))")
        }
    }

    /// Upload ids of multipart uploads in progress for exactly `key`.
    public func inProgressUploads(bucket: String, key: String) throws(ZipTaskError) -> [String] {
        let r: HTTPResponse
        do {
            r = try AWSResponse.send(http, request("GET", url(bucket: bucket, key: "", query: "prefix=\(Self.encodeQueryValue(key))&uploads=")))
        } catch {
            throw ZipTaskError(.aws, "listing uploads in s3://\(bucket) failed: \(error)")
        }
        guard r.status == 200 else { throw ZipTaskError(.aws, "listing uploads in s3://\(bucket) failed: \(AWSResponse.errorSummary(r))") }
        return XMLText.all("Upload", in: r.bodyText).compactMap { upload in
            XMLText.first("Key", in: upload) == key ? XMLText.first("UploadId", in: upload) : nil
        }
    }

    /// AbortMultipartUpload (best effort), so no partial object is ever visible.
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) {
        _ = try? AWSResponse.send(http, request("DELETE", url(bucket: bucket, key: key, query: "uploadId=\(Self.encodeQueryValue(uploadID))")), attempts: 3)
    }

    /// DeleteObject (best effort).
    public func deleteObject(bucket: String, key: String) {
        _ = try? AWSResponse.send(http, request("DELETE", url(bucket: bucket, key: key)), attempts: 3)
    }

    static func encodeQueryValue(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// UTC dates in the formats AWS uses, with the C library (no ICU: it would cost
/// megabytes of resident memory in a static binary).
enum UTCDate {
    /// HTTP dates (`Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT`).
    static func parseHTTP(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count >= 5, let day = Int32(parts[1]), let month = months.firstIndex(of: String(parts[2])),
            let year = Int32(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int32($0) }
        guard clock.count == 3 else { return nil }
        var t = tm()
        t.tm_year = year - 1900
        t.tm_mon = Int32(month)
        t.tm_mday = day
        t.tm_hour = clock[0]
        t.tm_min = clock[1]
        t.tm_sec = clock[2]
        return Date(timeIntervalSince1970: TimeInterval(timegm(&t)))
    }

    static func components(_ date: Date) -> tm {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var t = tm()
        gmtime_r(&seconds, &t)
        return t
    }

    static func pad(_ v: Int32, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// `20130524T000000Z`
    static func amz(_ date: Date) -> String {
        let t = components(date)
        return pad(t.tm_year + 1900, 4) + pad(t.tm_mon + 1, 2) + pad(t.tm_mday, 2) + "T" + pad(t.tm_hour, 2) + pad(t.tm_min, 2) + pad(t.tm_sec, 2) + "Z"
    }

    /// `2013-05-24T00:00:00Z`
    static func iso8601(_ date: Date) -> String {
        let t = components(date)
        return pad(t.tm_year + 1900, 4) + "-" + pad(t.tm_mon + 1, 2) + "-" + pad(t.tm_mday, 2) + "T"
            + pad(t.tm_hour, 2) + ":" + pad(t.tm_min, 2) + ":" + pad(t.tm_sec, 2) + "Z"
    }
}
