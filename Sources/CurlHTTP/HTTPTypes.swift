import Foundation

/// An HTTP request for libcurl.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    /// The request body; sent with Content-Length.
    public var body: [UInt8]?
    /// Talk HTTP over this unix socket instead of TCP (the Docker Engine API).
    public var unixSocketPath: String?
    /// Sign the request with libcurl's AWS SigV4 support.
    public var signing: SigV4Signing?
    /// Whole-request timeout in seconds (0: none).
    public var timeoutSeconds: Int
    /// Abort when no byte arrives for this long (nil: never, for long polls such as Docker's wait and log follow).
    public var stallTimeoutSeconds: Int?

    public init(
        method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        unixSocketPath: String? = nil, signing: SigV4Signing? = nil, timeoutSeconds: Int = 120, stallTimeoutSeconds: Int? = 30
    ) {
        self.stallTimeoutSeconds = stallTimeoutSeconds
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.unixSocketPath = unixSocketPath
        self.signing = signing
        self.timeoutSeconds = timeoutSeconds
    }
}

/// What libcurl needs to sign with `CURLOPT_AWS_SIGV4`.
public struct SigV4Signing: Sendable {
    public var region: String
    public var service: String
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(region: String, service: String, accessKeyID: String, secretAccessKey: String, sessionToken: String?) {
        self.region = region
        self.service = service
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// `aws:amz:REGION:SERVICE`, libcurl's provider string.
    var provider: String { "aws:amz:\(region):\(service)" }
}

/// An HTTP response: status, headers (names lowercased) and body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A transport failure: libcurl's own error text, with the URL it was for.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public var description: String { message }

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }
}
