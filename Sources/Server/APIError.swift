/// An AWS JSON-protocol error: `{"__type": type, "message": message}` with an HTTP status.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let type: String
    public let message: String
    public let status: Int

    public init(_ type: String, _ message: String, status: Int = 400) {
        self.type = type
        self.message = message
        self.status = status
    }

    public var description: String { "\(type): \(message)" }

    static func client(_ m: String) -> APIError { APIError("ClientException", m) }
    static func invalidParameter(_ m: String) -> APIError { APIError("InvalidParameterException", m) }
    static var clusterNotFound: APIError { APIError("ClusterNotFoundException", "Cluster not found.") }
    static func server(_ m: String) -> APIError { APIError("ServerException", m, status: 500) }
    static func resourceNotFound(_ m: String) -> APIError { APIError("ResourceNotFoundException", m) }
}
