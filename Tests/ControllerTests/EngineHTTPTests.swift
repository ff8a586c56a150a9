import CurlHTTP
import Foundation
import Testing

@testable import Controller

/// The Docker engine's transport: the response parser in every split of its input, and
/// whole exchanges over a real unix socket with a server thread that writes exact bytes.
struct EngineHTTPTests {
    /// Parses `raw` fed in pieces of `step` bytes; returns status, headers and body.
    private func parse(_ raw: String, step: Int, method: String = "GET") throws -> (Int, [String: String], String) {
        var parser = HTTPResponseParser(method: method)
        var body: [UInt8] = []
        let bytes = Array(raw.utf8)
        var i = 0
        while i < bytes.count && !parser.isComplete {
            let piece = Array(bytes[i..<min(i + step, bytes.count)])
            _ = try piece.withUnsafeBytes { raw in
                try parser.feed(raw, what: "test") {
                    body.append(contentsOf: $0)
                    return true
                }
            }
            i += step
        }
        if !parser.isComplete { try parser.finish(what: "test") }
        return (parser.status, parser.headers, String(decoding: body, as: UTF8.self))
    }

    static let responses: [(raw: String, status: Int, body: String)] = [
        (
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
            200, "hello, world"
        ),
        ("HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\n{\"Id\":\"ab\"}", 201, "{\"Id\":\"ab\"}"),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnah", 404, "nah"),
        ("HTTP/1.1 204 No Content\r\nServer: Docker\r\n\r\n", 204, ""),
        ("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the close", 200, "until the close"),
        ("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\nA\n0123456789\n0\n\n", 200, "0123456789"),
    ]

    @Test(arguments: [1, 2, 3, 7, 1000])
    func parsesResponsesInAnySplit(step: Int) throws {
        for expected in Self.responses {
            let (status, headers, body) = try parse(expected.raw, step: step)
            #expect(status == expected.status, "\(expected.raw.prefix(30))")
            #expect(body == expected.body, "\(expected.raw.prefix(30))")
            if expected.status == 200 && expected.raw.contains("Content-Type") { #expect(headers["content-type"] == "text/plain") }
        }
    }

    @Test func aResponseToHEADHasNoBodyWhateverItsLength() throws {
        let (status, _, body) = try parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", step: 5, method: "HEAD")
        #expect(status == 200 && body.isEmpty)
    }

    @Test func malformedOrTruncatedResponsesAreErrors() {
        #expect(throws: HTTPError.self) { try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", step: 4) }
        #expect(throws: HTTPError.self) { try parse("SSH-2.0-OpenSSH\r\n\r\n", step: 4) }
        #expect(throws: HTTPError.self) { try parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", step: 4) }
        #expect(throws: HTTPError.self) { try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", step: 4) }
        #expect(throws: HTTPError.self) { try parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", step: 4) }
        #expect(throws: HTTPError.self) { try parse("", step: 1) }
    }

    // MARK: Over a real socket

    /// A one-shot server on a fresh unix socket: accepts one connection, reads the request
    /// head, then writes `pieces` with `pause` between them and closes (unless `hold`).
    private final class OneShotServer: @unchecked Sendable {
        let path: String
        private let listener: Int32
        private(set) var request = ""
        private let done = DispatchSemaphore(value: 0)

        init(pieces: [String], pause: useconds_t = 20_000, hold: Bool = false) throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("fl-http-\(UUID().uuidString.prefix(8)).sock").path
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            listener = fd
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: Array(path.utf8) + [0]) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(fd, 1) == 0 else { throw CocoaError(.fileWriteUnknown) }
            Thread {
                let connection = accept(fd, nil, nil)
                var head: [UInt8] = []
                var byte: UInt8 = 0
                while read(connection, &byte, 1) == 1 {
                    head.append(byte)
                    if head.suffix(4) == Array("\r\n\r\n".utf8) { break }
                }
                self.request = String(decoding: head, as: UTF8.self)
                for piece in pieces {
                    _ = Array(piece.utf8).withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    usleep(pause)
                }
                if hold { sleep(3) }
                close(connection)
                self.done.signal()
            }.start()
        }

        func finish() {
            done.wait()
            close(listener)
            unlink(path)
        }
    }

    @Test func streamsAChunkedBodyAsItArrives() throws {
        let server = try OneShotServer(pieces: ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "4\r\nline", "\r\n", "5\r\n one\n\r\n", "0\r\n\r\n"])
        defer { server.finish() }
        var pieces: [String] = []
        let response = try EngineHTTP(socketPath: server.path).send(method: "GET", target: "/v1.41/events?x=1", timeoutSeconds: 5, stallTimeoutSeconds: 2) {
            pieces.append(String(decoding: $0, as: UTF8.self))
            return true
        }
        #expect(response.status == 200)
        #expect(pieces.joined() == "line one\n")
        #expect(pieces.count >= 2, "the body is handed over as it arrives, not at the end")
        #expect(server.request.hasPrefix("GET /v1.41/events?x=1 HTTP/1.1\r\n"))
        #expect(server.request.contains("Connection: close\r\n"))
    }

    @Test func sendsABodyWithItsLength() throws {
        let server = try OneShotServer(pieces: ["HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"])
        defer { server.finish() }
        let response = try EngineHTTP(socketPath: server.path).send(
            method: "POST", target: "/v1.41/containers/create", headers: [("Content-Type", "application/json")],
            body: Array("{\"Image\":\"x\"}".utf8), timeoutSeconds: 5, stallTimeoutSeconds: 2)
        #expect(response.status == 201 && response.bodyText == "{}")
        #expect(server.request.contains("Content-Length: 13\r\n"))
    }

    @Test func aStalledEngineIsAnErrorNamingTheWait() throws {
        let server = try OneShotServer(pieces: ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], hold: true)
        defer { server.finish() }
        #expect {
            _ = try EngineHTTP(socketPath: server.path).send(method: "GET", target: "/x", timeoutSeconds: 0, stallTimeoutSeconds: 1)
        } throws: { error in
            "\(error)".contains("sent nothing for 1 s")
        }
    }

    @Test func aResponseThatKeepsTricklingStillEndsAtTheDeadline() throws {
        let pieces = ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"] + Array(repeating: "1\r\n.\r\n", count: 30)
        let server = try OneShotServer(pieces: pieces, pause: 60_000)
        defer { server.finish() }
        #expect {
            _ = try EngineHTTP(socketPath: server.path).send(method: "POST", target: "/images/create", timeoutSeconds: 1, stallTimeoutSeconds: 30)
        } throws: { error in
            "\(error)".contains("no complete response within 1 s")
        }
    }

    @Test func aPathWithWhitespaceOrControlCharactersIsRefusedBeforeSending() {
        for target in ["/images/debian bookworm/json", "/images/x\r\nX-Injected: 1/json", "/images/\u{7F}/json"] {
            #expect {
                _ = try EngineHTTP(socketPath: "/nonexistent/docker.sock").send(method: "GET", target: target, timeoutSeconds: 1, stallTimeoutSeconds: nil)
            } throws: { error in
                "\(error)".contains("contains whitespace or control characters")
            }
        }
    }

    @Test func aMissingSocketIsAConnectError() {
        #expect {
            _ = try EngineHTTP(socketPath: "/nonexistent/docker.sock").send(method: "GET", target: "/_ping", timeoutSeconds: 1, stallTimeoutSeconds: nil)
        } throws: { error in
            "\(error)".contains("/nonexistent/docker.sock: could not connect: No such file or directory")
        }
    }

    @Test func aReaderCanStopAStream() throws {
        let server = try OneShotServer(pieces: ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "2\r\n{}\r\n", "2\r\n{}\r\n"], hold: true)
        defer { server.finish() }
        var seen = 0
        #expect(throws: HTTPError.self) {
            _ = try EngineHTTP(socketPath: server.path).send(method: "GET", target: "/events", timeoutSeconds: 0, stallTimeoutSeconds: nil) { _ in
                seen += 1
                return false
            }
        }
        #expect(seen == 1)
    }
}
