import CurlHTTP
import ECSModel
import Foundation
import Synchronization

/// The Docker API version an engine (and its copies) speaks; see `DockerEngine.version`.
final class NegotiatedAPIVersion: Sendable {
    private let value = Mutex("1.41")
    var current: String { value.withLock { $0 } }
    func set(_ version: String) { value.withLock { $0 = version } }
}

/// A Docker Engine API client (API 1.41) over the engine's unix socket, or a plain TCP
/// port on this machine (`EngineHTTP`). Calls block; use `Blocking.run` from async code.
struct DockerEngine: Sendable {
    /// Where the engine listens.
    let address: EngineAddress
    /// Where the address came from: `DOCKER_HOST`, `docker context NAME` or `the default socket`.
    var source = "the default socket"
    /// The API version spoken, shared by copies of this engine: 1.41 (Docker 20.10's, what
    /// fargate-local is written against), or the engine's minimum when that is newer
    /// (Docker 29 accepts 1.44 and up), learnt from its refusal of a request.
    let version = NegotiatedAPIVersion()

    /// The path prefix of the API version spoken (`v1.41`).
    var apiVersion: String { "v" + version.current }

    /// Since API 1.44 a container's MAC address is set on its network endpoint, not in its config.
    var setsMACOnEndpoint: Bool { DockerEngine.compare(version.current, "1.44") >= 0 }

    /// Compares dotted versions numerically (`1.9` < `1.44`).
    static func compare(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }
        let y = b.split(separator: ".").map { Int($0) ?? 0 }
        for i in 0..<max(x.count, y.count) {
            let (p, q) = (i < x.count ? x[i] : 0, i < y.count ? y[i] : 0)
            if p != q { return p < q ? -1 : 1 }
        }
        return 0
    }

    /// The minimum version in an engine's refusal of an old client ("client version 1.41 is
    /// too old. Minimum supported API version is 1.44, please upgrade your client ..."), if
    /// the response is one.
    static func minimumVersion(inRefusal r: HTTPResponse) -> String? {
        guard r.status == 400 else { return nil }
        let text = message(r)
        guard text.contains("is too old"), let range = text.range(of: "Minimum supported API version is ") else { return nil }
        let version = text[range.upperBound...].prefix { $0.isNumber || $0 == "." }
        return version.contains(".") ? String(version) : nil
    }

    static let defaultSocket = "/var/run/docker.sock"

    init(address: EngineAddress, source: String = "the default socket") {
        self.address = address
        self.source = source
    }

    /// The engine on the unix socket at `socketPath`.
    init(socketPath: String, source: String = "the default socket") {
        self.init(address: .unix(path: socketPath), source: source)
    }

    /// The engine the docker CLI would use: `DOCKER_HOST`, else the context named by
    /// `DOCKER_CONTEXT` or by `currentContext` in `$DOCKER_CONFIG/config.json` (default
    /// `~/.docker`; how Docker Desktop, colima and rootless Docker are found), else
    /// /var/run/docker.sock. Unix sockets are spoken, and plain TCP to this machine.
    static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(ControllerError) -> DockerEngine {
        if let host = env["DOCKER_HOST"], !host.isEmpty {
            let tls = ["DOCKER_TLS_VERIFY", "DOCKER_TLS"].first { !(env[$0] ?? "").isEmpty }
            return DockerEngine(address: try engineAddress(host: host, source: "DOCKER_HOST=\(host)", tls: tls), source: "DOCKER_HOST")
        }
        let configDirectory = Self.configDirectory(env)
        var context = env["DOCKER_CONTEXT"].flatMap { $0.isEmpty ? nil : $0 }
        if context == nil,
            let data = FileManager.default.contents(atPath: configDirectory + "/config.json"),
            let config = try? JSONParser.parse(Array(data))
        {
            context = config["currentContext"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let context, context != "default" else { return DockerEngine(socketPath: defaultSocket) }
        // Each context's meta.json sits in a directory named by its name's SHA-256; reading
        // them all and matching "Name" needs no hash.
        let metaRoot = configDirectory + "/contexts/meta"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: metaRoot)) ?? [] {
            guard let data = FileManager.default.contents(atPath: "\(metaRoot)/\(entry)/meta.json"),
                let meta = try? JSONParser.parse(Array(data)), meta["Name"]?.stringValue == context
            else { continue }
            guard let host = meta["Endpoints"]?["docker"]?["Host"]?.stringValue, !host.isEmpty else {
                throw ControllerError(.invalidInput, "docker context \"\(context)\" has no docker endpoint (\(metaRoot)/\(entry)/meta.json)")
            }
            // A context's TLS material sits under contexts/tls, in a directory named as its meta's.
            let tls = FileManager.default.fileExists(atPath: "\(configDirectory)/contexts/tls/\(entry)/docker") ? "the context's TLS certificates" : nil
            return DockerEngine(
                address: try engineAddress(host: host, source: "docker context \"\(context)\" (\(host))", tls: tls), source: "docker context \(context)")
        }
        throw ControllerError(
            .invalidInput,
            "docker context \"\(context)\" (from \(env["DOCKER_CONTEXT"] != nil ? "DOCKER_CONTEXT" : configDirectory + "/config.json")) does not exist under \(metaRoot); run `docker context ls`, or set DOCKER_HOST"
        )
    }

    /// The docker CLI's configuration directory: `$DOCKER_CONFIG`, else `~/.docker`.
    static func configDirectory(_ env: [String: String]) -> String {
        env["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? (env["HOME"] ?? NSHomeDirectory()) + "/.docker"
    }

    /// The address of an engine given as the docker CLI takes it: `unix://PATH`, or
    /// `tcp://HOST[:PORT]` (port 2375 by default) when HOST is this machine and `tls`
    /// (what asks for TLS, if anything) is nil. Engines elsewhere are refused: containers
    /// get this machine's folders, cgroups and task metadata endpoint.
    static func engineAddress(host: String, source: String, tls: String? = nil) throws(ControllerError) -> EngineAddress {
        let supported =
            "fargate-local talks to an engine on this machine, over its unix socket (unix:///var/run/docker.sock) or a plain TCP port (tcp://127.0.0.1:2375)"
        if host.hasPrefix("unix://") { return .unix(path: String(host.dropFirst("unix://".count))) }
        guard host.hasPrefix("tcp://") else {
            throw ControllerError(.invalidInput, "\(source) is not supported: \(supported)")
        }
        if let tls {
            throw ControllerError(.invalidInput, "\(source) with TLS (\(tls)) is not supported: \(supported)")
        }
        var rest = Substring(host.dropFirst("tcp://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let name: Substring
        var port = 2375
        if rest.hasPrefix("[") {
            // [IPv6]:port
            guard let close = rest.firstIndex(of: "]") else {
                throw ControllerError(.invalidInput, "\(source): \"\(host)\" is not an address (tcp://HOST:PORT)")
            }
            name = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
        } else {
            let colon = rest.firstIndex(of: ":") ?? rest.endIndex
            name = rest[..<colon]
            rest = rest[colon...]
        }
        if rest.hasPrefix(":") {
            guard let p = Int(rest.dropFirst()), (1...65535).contains(p) else {
                throw ControllerError(.invalidInput, "\(source): \"\(host)\" is not an address (tcp://HOST:PORT)")
            }
            port = p
        } else if !rest.isEmpty || name.isEmpty || name.contains("/") {
            throw ControllerError(.invalidInput, "\(source): \"\(host)\" is not an address (tcp://HOST:PORT)")
        }
        let local = name == "localhost" || name == "::1" || (name.hasPrefix("127.") && name.split(separator: ".").count == 4)
        guard local else {
            throw ControllerError(
                .invalidInput,
                "\(source) is on another machine: \(supported); a task's containers bind this machine's folders, join its cgroups and reach its task metadata endpoint"
            )
        }
        return .tcp(host: String(name), port: port)
    }

    var transport: EngineHTTP { EngineHTTP(address: address) }

    /// One API request. An engine that refuses this API version as too old is asked again,
    /// once, in the version it names, which this engine then keeps speaking. (A body that
    /// depends on the version is built by the caller after a first request negotiated it.)
    func request(_ method: String, _ path: String, body: JSONValue? = nil, headers: [(String, String)] = [], timeout: Int = 60) throws(HTTPError)
        -> HTTPResponse
    {
        // timeout 0 is a long poll (wait, stop): no stall detection either.
        func send() throws(HTTPError) -> HTTPResponse {
            try transport.send(
                method: method, target: "/\(apiVersion)\(path)",
                headers: (body == nil ? [] : [("Content-Type", "application/json")]) + headers,
                body: body.map { Array($0.serialized().utf8) },
                timeoutSeconds: timeout, stallTimeoutSeconds: timeout == 0 ? nil : 30)
        }
        let r = try send()
        guard let minimum = Self.minimumVersion(inRefusal: r), Self.compare(minimum, version.current) > 0 else { return r }
        version.set(minimum)
        return try send()
    }

    /// True when the engine answers `/_ping` within 3 s.
    func ping() -> Bool { pingFailure(timeoutSeconds: 3) == nil }

    /// Why the engine did not answer `/_ping` within `timeoutSeconds` (an engine that cannot
    /// be reached fails at once; a busy one is waited for), or nil when it answered.
    func pingFailure(timeoutSeconds: Int) -> String? {
        do {
            let status = try transport.send(method: "GET", target: "/_ping", timeoutSeconds: timeoutSeconds, stallTimeoutSeconds: nil).status
            return status == 200 ? nil : "/_ping answered HTTP \(status)"
        } catch {
            return "\(error)"
        }
    }

    /// The engine's error message from a response body (`{"message": "..."}`).
    static func message(_ r: HTTPResponse) -> String {
        if let v = try? JSONParser.parse(r.body), let m = v["message"]?.stringValue { return m }
        return "HTTP \(r.status)"
    }

    /// Streams a container's multiplexed logs (following) into `onFrame`; returns when the container stops.
    /// `sinceMilliseconds`: only lines logged after that time (for a re-adopted container).
    /// `raw`: the container has a terminal (`Tty`), so its output is one unframed stream (stdout).
    /// `follow`: false reads what the container has logged so far and returns.
    func followLogs(
        _ id: String, sinceMilliseconds: Int64? = nil, raw: Bool = false, follow: Bool = true, timestamps: Bool = false,
        onFrame: @escaping (OutputBatch.Source, UnsafeRawBufferPointer) -> Void
    ) throws(HTTPError) {
        var demuxer = LogDemuxer(onFrame: onFrame)
        // Inclusive: the engine gives every message not before `since`.
        let since = sinceMilliseconds.map { String(format: "&since=%.3f", Double($0) / 1000) } ?? ""
        _ = try transport.send(
            method: "GET",
            target: "/\(apiVersion)/containers/\(id)/logs?follow=\(follow ? 1 : 0)&stdout=1&stderr=1\(timestamps ? "&timestamps=1" : "")\(since)",
            timeoutSeconds: 0, stallTimeoutSeconds: nil
        ) { chunk in
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
