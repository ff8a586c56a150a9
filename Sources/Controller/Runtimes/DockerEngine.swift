import CurlHTTP
import ECSModel
import Foundation

/// A Docker Engine API client (API 1.41) over the unix socket (`UnixSocketHTTP`).
/// Calls block; use `Blocking.run` from async code.
struct DockerEngine: Sendable {
    let socketPath: String
    let apiVersion = "v1.41"

    /// `DOCKER_HOST=unix:///path` or the default socket. Other schemes are not supported.
    static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(ControllerError) -> DockerEngine {
        guard let host = env["DOCKER_HOST"], !host.isEmpty else { return DockerEngine(socketPath: "/var/run/docker.sock") }
        guard host.hasPrefix("unix://") else {
            throw ControllerError(.invalidInput, "DOCKER_HOST=\(host) is not supported: fargate-local talks to the engine over a unix socket (unix:///var/run/docker.sock)")
        }
        return DockerEngine(socketPath: String(host.dropFirst("unix://".count)))
    }

    var transport: UnixSocketHTTP { UnixSocketHTTP(socketPath: socketPath) }

    func request(_ method: String, _ path: String, body: JSONValue? = nil, headers: [(String, String)] = [], timeout: Int = 60) throws(HTTPError) -> HTTPResponse {
        // timeout 0 is a long poll (wait, stop): no stall detection either.
        try transport.send(method: method, target: "/\(apiVersion)\(path)",
                           headers: (body == nil ? [] : [("Content-Type", "application/json")]) + headers,
                           body: body.map { Array($0.serialized().utf8) },
                           timeoutSeconds: timeout, stallTimeoutSeconds: timeout == 0 ? nil : 30)
    }

    /// True when the engine answers `/_ping`.
    func ping() -> Bool {
        (try? transport.send(method: "GET", target: "/_ping", timeoutSeconds: 3, stallTimeoutSeconds: nil).status) == 200
    }

    /// The engine's error message from a response body (`{"message": "..."}`).
    static func message(_ r: HTTPResponse) -> String {
        if let v = try? JSONParser.parse(r.body), let m = v["message"]?.stringValue { return m }
        return "HTTP \(r.status)"
    }

    /// Streams a container's multiplexed logs (following) into `onFrame`; returns when the container stops.
    /// `sinceMilliseconds`: only lines logged after that time (for a re-adopted container).
    /// `raw`: the container has a terminal (`Tty`), so its output is one unframed stream (stdout).
    func followLogs(_ id: String, sinceMilliseconds: Int64? = nil, raw: Bool = false, onFrame: @escaping (OutputBatch.Source, UnsafeRawBufferPointer) -> Void) throws(HTTPError) {
        var demuxer = LogDemuxer(onFrame: onFrame)
        let since = sinceMilliseconds.map { String(format: "&since=%.3f", Double($0 + 1) / 1000) } ?? ""
        _ = try transport.send(method: "GET", target: "/\(apiVersion)/containers/\(id)/logs?follow=1&stdout=1&stderr=1\(since)",
                               timeoutSeconds: 0, stallTimeoutSeconds: nil) { chunk in
            if raw { onFrame(.stdout, chunk) } else { demuxer.feed(chunk) }
            return true
        }
    }

    /// Streams `/events` (JSON objects, one per line) matching `filters` from `since`
    /// (seconds since the epoch) into `onEvent`; returns when the engine closes the stream
    /// or `onEvent` returns false.
    func followEvents(filters: String, since: Double, onEvent: @escaping (JSONValue) -> Bool) throws(HTTPError) {
        let query = "since=\(String(format: "%.3f", since))&filters=\(filters.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        var pending: [UInt8] = []
        _ = try transport.send(method: "GET", target: "/\(apiVersion)/events?\(query)", timeoutSeconds: 0, stallTimeoutSeconds: nil) { chunk in
            pending.append(contentsOf: chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if let event = try? JSONParser.parse(line), !onEvent(event) { return false }
            }
            return true
        }
    }
}

/// Splits Docker's multiplexed stream: frames of [stream, 0, 0, 0, size (big-endian u32)] + payload.
struct LogDemuxer {
    let onFrame: (OutputBatch.Source, UnsafeRawBufferPointer) -> Void
    private var header: [UInt8] = []
    private var remaining = 0
    private var source = OutputBatch.Source.stdout

    init(onFrame: @escaping (OutputBatch.Source, UnsafeRawBufferPointer) -> Void) { self.onFrame = onFrame }

    mutating func feed(_ data: UnsafeRawBufferPointer) {
        var i = 0
        while i < data.count {
            if remaining == 0 {
                header.append(data[i])
                i += 1
                if header.count == 8 {
                    source = header[0] == 2 ? .stderr : .stdout
                    remaining = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
                    header.removeAll(keepingCapacity: true)
                }
                continue
            }
            let n = min(remaining, data.count - i)
            onFrame(source, UnsafeRawBufferPointer(rebasing: data[i..<i + n]))
            remaining -= n
            i += n
        }
    }
}

/// Runs a blocking call on its own thread, so async code never blocks a cooperative thread.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}
