import Controller
import CurlHTTP
import ECSModel
import Foundation

/// Hands out AWS credentials to tasks on the container credentials endpoint.
/// Source: the server's own environment (AWS_ACCESS_KEY_ID, ...), else static test
/// credentials for a local endpoint. With an AWS endpoint configured (e.g. moto), a
/// task's `taskRoleArn` is assumed through STS there.
public struct CredentialsProvider: Sendable {
    /// An access key, its secret and (for assumed roles) a session token, as the credentials endpoint hands them out.
    public struct Credentials: Sendable {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var token: String?
        public var expiration: Date
        public var roleArn: String?
    }

    let base: Credentials
    let awsEndpoint: String?
    let region: String

    /// Credentials from `environment`'s AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and session token)
    /// when set; task roles are assumed at `awsEndpoint` in `region`.
    public init(environment: [String: String], awsEndpoint: String?, region: String) {
        let key = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if let key, let secret {
            base = Credentials(
                accessKeyID: key, secretAccessKey: secret, token: environment["AWS_SESSION_TOKEN"],
                expiration: Date().addingTimeInterval(6 * 3600), roleArn: nil)
        } else {
            base = Credentials(
                accessKeyID: "AKIAFARGATELOCAL0000", secretAccessKey: "fargate-local-test-secret-not-for-aws",
                token: nil, expiration: Date().addingTimeInterval(6 * 3600), roleArn: nil)
        }
        self.awsEndpoint = awsEndpoint
        self.region = region
    }

    /// The credentials for a task: its role assumed through STS when an endpoint is configured.
    public func credentials(for record: TaskRecord) throws(APIError) -> Credentials {
        let role = record.task.overrides.taskRoleArn ?? record.definition.taskRoleArn
        guard let role, let endpoint = awsEndpoint else {
            var c = base
            c.roleArn = role
            return c
        }
        let form = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", role),
            ("RoleSessionName", "fargate-local-\(record.id.prefix(16))"), ("DurationSeconds", "3600"),
        ]
        .map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
        let request = HTTPRequest(
            method: "POST", url: endpoint.hasSuffix("/") ? endpoint : endpoint + "/",
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8),
            signing: SigV4Signing(
                region: region, service: "sts", accessKeyID: base.accessKeyID,
                secretAccessKey: base.secretAccessKey, sessionToken: base.token),
            timeoutSeconds: 15)
        let response: HTTPResponse
        do { response = try HTTPClient().send(request) } catch { throw APIError.server("STS AssumeRole for \(role) failed: \(error.message)") }
        let text = response.bodyText
        func element(_ name: String) -> String? {
            guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else { return nil }
            return String(text[open.upperBound..<close.lowerBound])
        }
        guard response.status == 200, let key = element("AccessKeyId"), let secret = element("SecretAccessKey") else {
            throw APIError.server("STS AssumeRole for \(role) at \(endpoint) failed with HTTP \(response.status)")
        }
        let expiration = element("Expiration").flatMap { ISO8601DateFormatter().date(from: $0.replacingOccurrences(of: ".000", with: "")) }
        return Credentials(
            accessKeyID: key, secretAccessKey: secret, token: element("SessionToken"),
            expiration: expiration ?? Date().addingTimeInterval(3600), roleArn: role)
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? s
    }

    /// The endpoint's JSON body (what the SDKs read).
    static func json(_ c: Credentials) -> JSONValue {
        var fields: [(key: String, value: JSONValue)] = [
            ("AccessKeyId", .string(c.accessKeyID)), ("SecretAccessKey", .string(c.secretAccessKey)),
            ("Token", .string(c.token ?? "")), ("Expiration", .string(ISO8601DateFormatter().string(from: c.expiration))),
        ]
        if let role = c.roleArn { fields.append(("RoleArn", .string(role))) }
        return .object(fields)
    }
}
