import CurlHTTP
import ECSModel
import Foundation

/// Resolves what ECS fetches before a container starts, with the execution role's
/// credentials: `secrets` from SSM Parameter Store (name or ARN) and Secrets Manager
/// (ARN, optionally `:json-key:version-stage:version-id`), and `environmentFiles` from
/// S3 (`KEY=VALUE` lines; blank lines and `#` comments ignored). Errors name the secret
/// or file, never a value.
public struct SecretResolver: Sendable {
    /// An AWS endpoint for every service (e.g. a local moto), or nil for AWS itself.
    public var endpoint: String?
    public var region: String
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    /// The execution role's credentials are the host's (`AWS_ACCESS_KEY_ID`, ...); static test ones for a local endpoint.
    public init(endpoint: String?, region: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.endpoint = endpoint.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.region = region
        accessKeyID = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? "AKIAFARGATELOCAL0000"
        secretAccessKey = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 } ?? "fargate-local-test-secret-not-for-aws"
        sessionToken = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func signing(_ service: String, region: String) -> SigV4Signing {
        SigV4Signing(region: region, service: service, accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
    }

    func url(_ service: String, region: String) -> String {
        endpoint.map { $0 + "/" } ?? "https://\(service).\(region).amazonaws.com/"
    }

    /// The region named in an ARN, else the task's.
    func region(of arn: String) -> String {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 3 && !parts[3].isEmpty ? String(parts[3]) : region
    }

    func callJSON(service: String, target: String, region: String, body: JSONValue) throws(ContainerStartError) -> JSONValue {
        let request = HTTPRequest(
            method: "POST", url: url(service, region: region),
            headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target)],
            body: Array(body.serialized().utf8), signing: signing(service, region: region), timeoutSeconds: 20)
        let response: HTTPResponse
        do { response = try HTTPClient().send(request) } catch {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "\(service) is unreachable: \(error.message)")
        }
        let parsed = try? JSONParser.parse(response.body)
        guard response.status == 200, let parsed else {
            let type = parsed?["__type"]?.stringValue.map { String($0.split(separator: "#").last ?? "") } ?? "HTTP \(response.status)"
            let message = parsed?["message"]?.stringValue ?? parsed?["Message"]?.stringValue ?? ""
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "\(type)\(message.isEmpty ? "" : ": \(message)")")
        }
        return parsed
    }

    /// The value of one `secrets[]` entry.
    public func resolve(_ secret: Secret) throws(ContainerStartError) -> String {
        let from = secret.valueFrom
        do {
            if from.hasPrefix("arn:") && from.contains(":secretsmanager:") {
                return try secretsManager(from)
            }
            return try ssmParameter(from)
        } catch {
            throw ContainerStartError(
                kind: "ResourceInitializationError",
                detail: "unable to pull secrets or registry auth: unable to retrieve secret \(secret.name) from \(from): \(error.detail)")
        }
    }

    /// `repositoryCredentials`: the Secrets Manager secret (`{"username", "password"}`) as
    /// Docker's `X-Registry-Auth` (base64url JSON) for `image`'s registry. Errors name the
    /// secret, never its value.
    public func registryAuth(_ credentials: RepositoryCredentials, image: String) throws(ContainerStartError) -> String {
        let arn = credentials.credentialsParameter
        func failure(_ why: String) -> ContainerStartError {
            ContainerStartError(
                kind: "ResourceInitializationError",
                detail: "unable to pull secrets or registry auth: unable to retrieve repositoryCredentials from \(arn): \(why)")
        }
        guard arn.hasPrefix("arn:") && arn.contains(":secretsmanager:") else { throw failure("credentialsParameter must be a Secrets Manager secret ARN") }
        let secret: String
        do {
            secret = try secretsManager(arn)
        } catch {
            throw failure(error.detail)
        }
        guard let document = try? JSONParser.parse(secret), let username = document["username"]?.stringValue,
            let password = document["password"]?.stringValue
        else {
            throw failure("the secret must be a JSON object with \"username\" and \"password\"")
        }
        return DockerLogin.encode([("username", username), ("password", password), ("serveraddress", Self.registry(of: image))])
    }

    /// The registry an image reference names: its first component when that is a host
    /// (has a dot or a port, or is localhost), else Docker Hub.
    static func registry(of image: String) -> String {
        let parts = image.split(separator: "/", maxSplits: 1)
        if parts.count == 2, let first = parts.first, first.contains(".") || first.contains(":") || first == "localhost" {
            return String(first)
        }
        return "https://index.docker.io/v1/"
    }

    func ssmParameter(_ valueFrom: String) throws(ContainerStartError) -> String {
        var name = valueFrom
        var region = self.region
        // arn:aws:ssm:REGION:ACCOUNT:parameter/app/db names "/app/db"; ...:parameter/db names "db".
        if valueFrom.hasPrefix("arn:"), let range = valueFrom.range(of: ":parameter/") {
            region = self.region(of: valueFrom)
            let rest = String(valueFrom[range.upperBound...])
            name = rest.contains("/") ? "/" + rest : rest
        }
        let result = try callJSON(
            service: "ssm", target: "AmazonSSM.GetParameter", region: region,
            body: .object([("Name", .string(name)), ("WithDecryption", .bool(true))]))
        guard let value = result["Parameter"]?["Value"]?.stringValue else {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "the parameter has no value")
        }
        return value
    }

    func secretsManager(_ valueFrom: String) throws(ContainerStartError) -> String {
        let parts = valueFrom.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 7 else { throw ContainerStartError(kind: "ResourceInitializationError", detail: "not a Secrets Manager secret ARN") }
        let secretID = parts[0..<7].joined(separator: ":")
        let jsonKey = parts.count > 7 ? parts[7] : ""
        let stage = parts.count > 8 ? parts[8] : ""
        let version = parts.count > 9 ? parts[9] : ""
        var body: [(key: String, value: JSONValue)] = [("SecretId", .string(secretID))]
        if !stage.isEmpty { body.append(("VersionStage", .string(stage))) }
        if !version.isEmpty { body.append(("VersionId", .string(version))) }
        let result = try callJSON(service: "secretsmanager", target: "secretsmanager.GetSecretValue", region: region(of: valueFrom), body: .object(body))
        guard let secret = result["SecretString"]?.stringValue else {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "the secret has no SecretString")
        }
        guard !jsonKey.isEmpty else { return secret }
        guard let document = try? JSONParser.parse(secret), let value = document[jsonKey] else {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "the secret has no JSON key \"\(jsonKey)\"")
        }
        return value.stringValue ?? value.serialized()
    }

    /// The variables of one environment file (`arn:aws:s3:::bucket/key.env`).
    public func environmentFile(_ file: EnvironmentFile) throws(ContainerStartError) -> [(String, String)] {
        let arn = file.value
        guard let range = arn.range(of: ":s3:::") else {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "failed to download env files: \(arn) is not an S3 object ARN")
        }
        let path = String(arn[range.upperBound...])
        guard let slash = path.firstIndex(of: "/") else {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "failed to download env files: \(arn) names no object")
        }
        let bucket = String(path[..<slash])
        let key = String(path[path.index(after: slash)...])
        let encodedKey = key.split(separator: "/", omittingEmptySubsequences: false)
            .map {
                $0.addingPercentEncoding(
                    withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? String($0)
            }
            .joined(separator: "/")
        let url = endpoint.map { "\($0)/\(bucket)/\(encodedKey)" } ?? "https://\(bucket).s3.\(region).amazonaws.com/\(encodedKey)"
        let request = HTTPRequest(url: url, headers: [("x-amz-content-sha256", "UNSIGNED-PAYLOAD")], signing: signing("s3", region: region), timeoutSeconds: 20)
        let response: HTTPResponse
        do { response = try HTTPClient().send(request) } catch {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "failed to download env files: \(arn): \(error.message)")
        }
        guard response.status == 200 else {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "failed to download env files: \(arn): HTTP \(response.status)")
        }
        // Lines that are not NAME=VALUE are skipped, as ECS skips them.
        return EnvironmentFileFormat.parse(response.bodyText).variables.map { ($0.name, $0.value) }
    }
}
