import CurlHTTP
import Foundation

/// AWS credentials, found the way AWS SDKs find them.
public struct AWSCredentials: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String?) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the container
    /// credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`, or `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`).
    public static func resolve(_ env: [String: String], http: HTTPClient = HTTPClient()) throws(ZipTaskError) -> AWSCredentials {
        if let key = env["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty {
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        }
        var url: String?
        var headers: [(String, String)] = []
        if let full = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            url = full
            if let token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty { headers.append(("Authorization", token)) }
        } else if let relative = env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://169.254.170.2" + relative
        }
        guard let url else {
            throw ZipTaskError(
                .badRequest,
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)"
            )
        }
        let response: HTTPResponse
        do {
            response = try Retry.run(attempts: 3) { () throws(HTTPError) in try http.send(HTTPRequest(url: url, headers: headers, timeoutSeconds: 10)) }
        } catch {
            throw ZipTaskError(.aws, "cannot fetch credentials from the container credentials endpoint: \(error)")
        }
        guard response.status == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String
        else {
            throw ZipTaskError(.aws, "the container credentials endpoint answered HTTP \(response.status) without credentials")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: object["Token"] as? String)
    }

    func signing(region: String, service: String) -> SigV4Signing {
        SigV4Signing(region: region, service: service, accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
    }
}

/// Retries transport failures with exponential backoff and jitter.
enum Retry {
    static func run<T>(attempts: Int, base: Double = 0.2, _ body: () throws(HTTPError) -> T) throws(HTTPError) -> T {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch {
                attempt += 1
                if attempt >= attempts { throw error }
                Thread.sleep(forTimeInterval: delay(attempt: attempt, base: base))
            }
        }
    }

    /// Backoff before attempt `attempt` (1-based): base·2^(n-1), capped at 10 s, with ±25 % jitter.
    static func delay(attempt: Int, base: Double = 0.2) -> Double {
        let d = min(10, base * pow(2, Double(attempt - 1)))
        return d * Double.random(in: 0.75...1.25)
    }
}
