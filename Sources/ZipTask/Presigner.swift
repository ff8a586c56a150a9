import Crypto
import Foundation

/// Presigns S3 GET URLs with SigV4 query signing (HMAC-SHA256 from swift-crypto).
public struct Presigner: Sendable {
    public let credentials: AWSCredentials
    public let region: String

    public init(credentials: AWSCredentials, region: String) {
        self.credentials = credentials
        self.region = region
    }

    /// A GET URL for `url` (an S3 object URL as `S3Client.url` builds it), valid `expires` seconds from `date`.
    public func presignGET(url: String, expires: Int, date: Date = Date()) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return url }
        let hostHeader = components.port.map { "\(host):\($0)" } ?? host
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let amzDate = UTCDate.amz(date)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/s3/aws4_request"
        var query: [(String, String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken, !token.isEmpty { query.append(("X-Amz-Security-Token", token)) }
        let canonicalQuery =
            query
            .map { (S3Client.encodeQueryValue($0.0), S3Client.encodeQueryValue($0.1)) }
            .sorted { $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let canonicalRequest = ["GET", path, canonicalQuery, "host:\(hostHeader)\n", "host", "UNSIGNED-PAYLOAD"].joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
        let signature = Self.signature(secret: credentials.secretAccessKey, day: day, region: region, stringToSign: stringToSign)
        let scheme = components.scheme ?? "https"
        return "\(scheme)://\(hostHeader)\(path)?\(canonicalQuery)&X-Amz-Signature=\(signature)"
    }

    static func signature(secret: String, day: String, region: String, stringToSign: String) -> String {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
        }
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [day, region, "s3", "aws4_request"] { key = hmac(key, part) }
        return hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
