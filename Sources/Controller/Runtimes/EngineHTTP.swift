import CurlHTTP
import Foundation
import Synchronization

/// Where a Docker engine listens: its unix socket, or a plain-HTTP TCP port on this machine
/// (`tcp://127.0.0.1:2375`).
enum EngineAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    /// The socket's path, or the `tcp://` address.
    var description: String {
        switch self {
        case let .unix(path): path
        case let .tcp(host, port): "tcp://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
    }

    /// The requests' Host header.
    var hostHeader: String {
        switch self {
        case .unix: "docker"
        case let .tcp(host, port): "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
    }
}

/// HTTP/1.1 in plain POSIX calls, over the engine's unix socket or a TCP port on this
/// machine: the Docker Engine API's transport.
///
/// libcurl could carry it too, but loading libcurl (~30 shared libraries) costs ~5 ms of
/// CPU, and every Docker `run` would pay it before its first container is created. The
/// engine's API needs little of HTTP: one request per connection (`Connection: close`),
/// and responses sized by `Content-Length`, chunked, or ended by the close.
/// Calls block the calling thread.
struct EngineHTTP: Sendable {
    /// Where the engine listens.
    let address: EngineAddress

    init(address: EngineAddress) {
        self.address = address
    }

    /// The engine's unix socket, e.g. `/var/run/docker.sock`.
    init(socketPath: String) {
        self.init(address: .unix(path: socketPath))
    }

    /// Sends one request and reads its response. `target` is the path and query.
    /// `timeoutSeconds`: the whole exchange (0: none, for long polls and streams);
    /// `stallTimeoutSeconds`: the longest wait for the next bytes (nil: none).
    /// With `onBody`, the body is handed over as it arrives instead of collected; returning
    /// false from it ends the exchange with an error.
    func send(
        method: String, target: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeoutSeconds: Int, stallTimeoutSeconds: Int?,
        onBody: ((UnsafeRawBufferPointer) -> Bool)? = nil
    ) throws(HTTPError) -> HTTPResponse {
        let what = "\(method) \(target) on \(address)"
        // The target goes into the request line as is: no whitespace or control characters
        // (an image name from a task definition could otherwise add headers).
        guard !target.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw HTTPError(code: 3, message: "\(what): the request path contains whitespace or control characters")
        }
        let deadline = timeoutSeconds > 0 ? Self.now() + Double(timeoutSeconds) : nil
        let socket = try Self.connect(address, what: what)
        defer { close(socket) }

        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(address.hostHeader)\r\nUser-Agent: fargate-local\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" } else if method == "POST" || method == "PUT" { head += "Content-Length: 0\r\n" }
        head += "\r\n"
        try Self.writeAll(socket, Array(head.utf8) + (body ?? []), what: what)

        var parser = HTTPResponseParser(method: method)
        var collected: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while !parser.isComplete {
            // Wait for bytes up to the stall limit, or the deadline if that comes first.
            var waitMilliseconds: Int32 = -1
            var stallBound = false
            if let stallTimeoutSeconds {
                waitMilliseconds = Int32(stallTimeoutSeconds * 1000)
                stallBound = true
            }
            if let deadline {
                let left = Int32(max(0, ((deadline - Self.now()) * 1000).rounded(.up)))
                if waitMilliseconds < 0 || left < waitMilliseconds {
                    waitMilliseconds = left
                    stallBound = false
                }
            }
            var pollFD = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollFD, 1, waitMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw HTTPError(code: 28, message: "\(what): poll: \(String(cString: strerror(errno)))")
            }
            if let deadline, Self.now() >= deadline {
                // Also when bytes keep coming: the deadline is for the whole exchange.
                throw HTTPError(code: 28, message: "\(what): no complete response within \(timeoutSeconds) s")
            }
            if ready == 0 {
                guard stallBound else { continue }
                throw HTTPError(code: 28, message: "\(what): the engine sent nothing for \(stallTimeoutSeconds ?? 0) s")
            }
            let n = recv(socket, buffer.baseAddress, buffer.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                throw HTTPError(code: 56, message: "\(what): reading the response: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                try parser.finish(what: what)
                break
            }
            let accepted = try parser.feed(UnsafeRawBufferPointer(rebasing: buffer[..<n]), what: what) { chunk in
                if let onBody { return onBody(chunk) }
                collected.append(contentsOf: chunk)
                return true
            }
            guard accepted else {
                throw HTTPError(code: 23, message: "\(what): the response's reader stopped it")
            }
        }
        return HTTPResponse(status: parser.status, headers: parser.headers, body: collected)
    }

    /// Sends a request that takes the connection over (Docker's attach and exec start, with
    /// `Upgrade: tcp`): once the engine answers 101 (or 200), the bytes of `input` (a file
    /// descriptor, read to its end; nil: none) go to the engine, the connection's write side is closed
    /// after them, and what the engine sends is handed to `onOutput` until it closes the
    /// connection. Returns the response's status; a refusal's body is its `body`.
    /// `onStarted`: called once the engine has taken the connection over (the exec runs).
    func hijack(
        method: String, target: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        input: Int32?, onStarted: (() -> Void)? = nil, onOutput: (UnsafeRawBufferPointer) -> Void
    ) throws(HTTPError) -> HTTPResponse {
        let what = "\(method) \(target) on \(address)"
        guard !target.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw HTTPError(code: 3, message: "\(what): the request path contains whitespace or control characters")
        }
        let socket = try Self.connect(address, what: what)
        // Closed by whichever of this call and the input's thread is last done with it (the
        // thread may wait on an input that never ends: a closed and reused descriptor must
        // never get its bytes).
        let owner = SharedDescriptor(socket, users: 2)
        var pumping = false
        defer {
            shutdown(socket, Int32(SHUT_RDWR))
            owner.release()
            if !pumping { owner.release() }
        }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(address.hostHeader)\r\nUser-Agent: fargate-local\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        try Self.writeAll(socket, Array(head.utf8) + (body ?? []), what: what)

        // The response's head, then the stream.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var headEnd = -1
        while headEnd < 0 {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw HTTPError(code: 56, message: "\(what): the engine closed the connection before answering") }
            received += buffer[..<n]
            // The blank line that ends the head: CR LF CR LF; -1 until it has arrived.
            headEnd =
                received.indices.dropLast(3).first {
                    received[$0] == 13 && received[$0 + 1] == 10 && received[$0 + 2] == 13 && received[$0 + 3] == 10
                } ?? -1
        }
        let headText = String(decoding: received[..<headEnd], as: UTF8.self)
        let status = headText.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        var rest = Array(received[(headEnd + 4)...])
        guard status == 101 || status == 200 else {
            // A refusal: its body (sized by Content-Length, or to the close).
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                rest += buffer[..<n]
                if let length = headText.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") })
                    .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }), rest.count >= length
                {
                    break
                }
            }
            return HTTPResponse(status: status, headers: [:], body: rest)
        }
        // Input goes in on a thread of its own; the write side closes at its end. Without
        // input, the write side stays open (the engine ends the exchange).
        let pump = Thread {
            guard let input else {
                owner.release()
                return
            }
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0, (try? Self.writeAll(socket, Array(chunk[..<n]), what: what)) != nil else { break }
            }
            shutdown(socket, Int32(SHUT_WR))
            owner.release()
        }
        onStarted?()
        pumping = true
        pump.start()
        if !rest.isEmpty { rest.withUnsafeBytes { onOutput($0) } }
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            buffer.withUnsafeBytes { onOutput(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
        return HTTPResponse(status: status, headers: [:], body: [])
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func connect(_ address: EngineAddress, what: String) throws(HTTPError) -> Int32 {
        switch address {
        case let .unix(path): try connect(unixSocket: path, what: what)
        case let .tcp(host, port): try connect(host: host, port: port, what: what)
        }
    }

    /// A TCP connection to `host`:`port` (each address it resolves to, in turn), with
    /// Nagle's delay off: requests are written whole.
    private static func connect(host: String, port: Int, what: String) throws(HTTPError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw HTTPError(code: 6, message: "\(what): cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(first) }
        var failure = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let candidate = entry {
            let socket = Glibc.socket(candidate.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if socket >= 0 {
                if Glibc.connect(socket, candidate.pointee.ai_addr, candidate.pointee.ai_addrlen) == 0 {
                    var on: Int32 = 1
                    setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                    return socket
                }
                failure = errno
                close(socket)
            } else {
                failure = errno
            }
            entry = candidate.pointee.ai_next
        }
        throw HTTPError(code: 7, message: "\(what): could not connect: \(String(cString: strerror(failure)))")
    }

    private static func connect(unixSocket path: String, what: String) throws(HTTPError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            throw HTTPError(code: 7, message: "\(what): the socket's path is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else {
            throw HTTPError(code: 7, message: "\(what): socket: \(String(cString: strerror(errno)))")
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw HTTPError(code: 7, message: "\(what): could not connect: \(reason)")
        }
        return socket
    }

    private static func writeAll(_ socket: Int32, _ bytes: [UInt8], what: String) throws(HTTPError) {
        let failure: Int32? = bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return nil }  // nothing to send
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(socket, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
        if let failure {
            throw HTTPError(code: 55, message: "\(what): sending the request: \(String(cString: strerror(failure)))")
        }
    }
}
