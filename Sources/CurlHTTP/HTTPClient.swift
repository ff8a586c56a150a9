import Foundation

/// Sends HTTP requests with libcurl, blocking the calling thread.
public struct HTTPClient: Sendable {
    public init() {}

    /// Performs `request` and returns the response (any status); throws on transport failure.
    public func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let easy = try CurlEasy(request)
        return try easy.perform()
    }
}

extension HTTPClient {
    /// Performs `request` on a thread of its own, so async callers never block.
    public func sendAsync(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let result: Result<HTTPResponse, HTTPError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(HTTPError) -> HTTPResponse in try self.send(request) })
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        return try result.get()
    }
}

extension HTTPClient {
    /// Loads libcurl on a thread of its own, so that the first request does not wait for it
    /// (~5 ms: it pulls ~30 shared libraries). A request made meanwhile waits for the load.
    public static func preloadInBackground() {
        Thread { _ = CurlGlobal.failure }.start()
    }
}
