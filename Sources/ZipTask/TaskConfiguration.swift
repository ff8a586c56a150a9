import Foundation

/// The zip task's contract: what it reads from its environment, as the
/// launcher (a Lambda calling RunTask, or fargate-local) sets it.
public struct TaskConfiguration: Sendable {
    public var requestID: String
    public var requestsTable: String
    public var sourceBucket: String
    public var destinationBucket: String
    public var destinationPrefix: String
    public var workDirectory: String
    public var urlExpiresSeconds: Int
    public var senderEmail: String
    public var maxFiles: Int
    public var fetchConcurrency: Int
    /// Deflate level for compressible entries (1–9, `ZIP_DEFLATE_LEVEL`). 2 is the default:
    /// on log-like text it is ~6 % smaller than level 1 at ~90 % of its speed; level 6 is
    /// another 16 % smaller at a third of the speed (see BENCHMARKS.md).
    public var deflateLevel: Int
    public var region: String
    public var endpoints: AWSEndpoints

    /// Reads and checks the environment; every problem is a bad request (exit 2).
    public static func fromEnvironment(_ env: [String: String]) throws(ZipTaskError) -> TaskConfiguration {
        func required(_ name: String) throws(ZipTaskError) -> String {
            guard let v = env[name], !v.isEmpty else {
                throw ZipTaskError(
                    .badRequest, "\(name) is not set; the task needs it to know \(name == "REQUEST_ID" ? "which request to process" : "where to read from")")
            }
            return v
        }
        func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws(ZipTaskError) -> Int {
            guard let text = env[name], !text.isEmpty else { return value }
            guard let n = Int(text), range.contains(n) else {
                throw ZipTaskError(.badRequest, "\(name)=\(text) is invalid: expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
        let requestID = try required("REQUEST_ID")
        guard Self.isSafePathComponent(requestID) else {
            throw ZipTaskError(
                .badRequest,
                "REQUEST_ID \"\(requestID.prefix(80))\" is invalid: use 1 to 128 letters, digits, '.', '_' or '-' (it names a folder on the work volume)")
        }
        let source = try required("SOURCE_BUCKET")
        var prefix = env["DEST_PREFIX"] ?? "exports/"
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        let region = env["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? env["AWS_DEFAULT_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        return TaskConfiguration(
            requestID: requestID,
            requestsTable: env["REQUESTS_TABLE"].flatMap { $0.isEmpty ? nil : $0 } ?? "zip-requests",
            sourceBucket: source,
            destinationBucket: env["DEST_BUCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? source,
            destinationPrefix: prefix,
            workDirectory: env["WORK_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/mnt/efs",
            urlExpiresSeconds: try integer("URL_EXPIRES_SECONDS", default: 86400, range: 1...604800),
            senderEmail: env["SENDER_EMAIL"].flatMap { $0.isEmpty ? nil : $0 } ?? "noreply@example.com",
            maxFiles: try integer("MAX_FILES", default: 30, range: 1...65535),
            fetchConcurrency: try integer("FETCH_CONCURRENCY", default: 4, range: 1...64),
            deflateLevel: try integer("ZIP_DEFLATE_LEVEL", default: 2, range: 1...9),
            region: region,
            endpoints: AWSEndpoints(environment: env, region: region))
    }

    static func isSafePathComponent(_ s: String) -> Bool {
        guard (1...128).contains(s.utf8.count), s != ".", s != ".." else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && (($0.properties.isAlphabetic) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-") }
    }
}

/// Where each AWS service is reached: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`,
/// then AWS's public endpoint. S3 uses path-style URLs when an endpoint is given.
public struct AWSEndpoints: Sendable {
    public var s3: String?
    public var dynamoDB: String?
    public var ses: String?
    public let region: String

    public init(environment env: [String: String], region: String) {
        func pick(_ service: String) -> String? {
            let v = env["AWS_ENDPOINT_URL_\(service)"].flatMap { $0.isEmpty ? nil : $0 } ?? env["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
            return v.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        }
        s3 = pick("S3")
        dynamoDB = pick("DYNAMODB")
        ses = pick("SES")
        self.region = region
    }

    public var dynamoDBURL: String { dynamoDB ?? "https://dynamodb.\(region).amazonaws.com" }
    public var sesURL: String { ses ?? "https://email.\(region).amazonaws.com" }
}
