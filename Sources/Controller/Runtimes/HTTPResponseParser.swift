import CurlHTTP
import Foundation

/// Reads an HTTP/1.1 response from bytes as they arrive, in any split: the status line and
/// headers, then a body sized by `Content-Length`, chunked, or ended by the connection's close.
struct HTTPResponseParser {
    private enum Stage: Equatable {
        case head
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers
        case sized(remaining: Int)
        case untilClose
        case done
    }

    /// The status code (0 until the status line is read).
    private(set) var status = 0
    /// The response's headers, names lower-cased.
    private(set) var headers: [String: String] = [:]
    private var stage = Stage.head
    private var line: [UInt8] = []
    private var headLines: [String] = []
    private let bodyless: Bool

    /// `method`: the request's (a response to HEAD has no body).
    init(method: String) { bodyless = method == "HEAD" }

    /// True once the whole response has been read.
    var isComplete: Bool { stage == .done }

    /// Reads `bytes`; hands body bytes to `onBody`. Returns false if `onBody` did.
    mutating func feed(
        _ bytes: UnsafeRawBufferPointer, what: String,
        onBody: (UnsafeRawBufferPointer) -> Bool
    ) throws(HTTPError) -> Bool {
        var i = 0
        while i < bytes.count {
            switch stage {
            case .head, .chunkSize, .chunkEnd, .trailers:
                // Line-oriented stages: collect up to the next LF.
                guard let newline = bytes[i...].firstIndex(of: UInt8(ascii: "\n")) else {
                    line.append(contentsOf: bytes[i...])
                    i = bytes.count
                    if line.count > 64 << 10 { throw HTTPError(code: 8, message: "\(what): a response line longer than 64 KiB") }
                    continue
                }
                line.append(contentsOf: bytes[i..<newline])
                i = newline + 1
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                line.removeAll(keepingCapacity: true)
                try endOfLine(text, what: what)
            case let .chunkData(remaining):
                let n = min(remaining, bytes.count - i)
                if !onBody(UnsafeRawBufferPointer(rebasing: bytes[i..<i + n])) { return false }
                i += n
                stage = remaining == n ? .chunkEnd : .chunkData(remaining: remaining - n)
            case let .sized(remaining):
                let n = min(remaining, bytes.count - i)
                if !onBody(UnsafeRawBufferPointer(rebasing: bytes[i..<i + n])) { return false }
                i += n
                stage = remaining == n ? .done : .sized(remaining: remaining - n)
            case .untilClose:
                if !onBody(UnsafeRawBufferPointer(rebasing: bytes[i...])) { return false }
                i = bytes.count
            case .done:
                // Bytes after the response (there should be none with Connection: close).
                i = bytes.count
            }
        }
        return true
    }

    /// The connection closed: fine only if the response was complete or ends with the close.
    mutating func finish(what: String) throws(HTTPError) {
        switch stage {
        case .done: return
        case .untilClose: stage = .done
        case .head where status == 0 && headLines.isEmpty && line.isEmpty:
            throw HTTPError(code: 52, message: "\(what): the engine closed the connection without a response")
        default:
            throw HTTPError(code: 18, message: "\(what): the connection closed before the response was complete")
        }
    }

    private mutating func endOfLine(_ text: String, what: String) throws(HTTPError) {
        switch stage {
        case .head:
            if !text.isEmpty {
                headLines.append(text)
                return
            }
            guard !headLines.isEmpty else { return }  // blank lines before a status line
            try endOfHead(what: what)
        case .chunkSize:
            let digits = text.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(digits, radix: 16), size >= 0 else {
                throw HTTPError(code: 8, message: "\(what): a malformed chunk size \"\(text.prefix(40))\"")
            }
            stage = size == 0 ? .trailers : .chunkData(remaining: size)
        case .chunkEnd:
            guard text.isEmpty else { throw HTTPError(code: 8, message: "\(what): a chunk not ended by CRLF") }
            stage = .chunkSize
        case .trailers:
            if text.isEmpty { stage = .done }
        default:
            break
        }
    }

    private mutating func endOfHead(what: String) throws(HTTPError) {
        let statusLine = headLines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...999).contains(code) else {
            throw HTTPError(code: 8, message: "\(what): not an HTTP/1.x status line: \"\(statusLine.prefix(80))\"")
        }
        var fields: [String: String] = [:]
        for headerLine in headLines {
            guard let colon = headerLine.firstIndex(of: ":") else { continue }
            fields[headerLine[..<colon].lowercased()] = headerLine[headerLine.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        headLines.removeAll()
        if (100..<200).contains(code) {
            return  // an interim response (100 Continue): the real one follows
        }
        status = code
        headers = fields
        if bodyless || code == 204 || code == 304 {
            stage = .done
        } else if fields["transfer-encoding"]?.lowercased().contains("chunked") == true {
            stage = .chunkSize
        } else if let length = fields["content-length"] {
            guard let n = Int(length), n >= 0 else { throw HTTPError(code: 8, message: "\(what): a malformed Content-Length \"\(length.prefix(40))\"") }
            stage = n == 0 ? .done : .sized(remaining: n)
        } else {
            stage = .untilClose
        }
    }
}
