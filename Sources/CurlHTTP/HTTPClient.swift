/// Sends HTTP requests with libcurl, blocking the calling thread.
public struct HTTPClient: Sendable {
    public init() {}

    /// Performs `request` and returns the response (any status); throws on transport failure.
    public func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let easy = try CurlEasy(request)
        return try easy.perform()
    }
}
