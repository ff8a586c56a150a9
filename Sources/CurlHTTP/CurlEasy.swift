import CCurl
import Foundation

/// Sees every body byte written to a file sink (e.g. to checksum it as it arrives).
public protocol BodyTee: AnyObject {
    /// The file was emptied (the server sent the whole object again).
    func restart()
    func consume(_ bytes: UnsafeRawBufferPointer)
}

/// Owns one `CURL*` easy handle and everything libcurl borrows from it (header
/// list, request body, callbacks' context); frees them in `deinit`. Not Sendable:
/// one thread uses it at a time.
public final class CurlEasy {
    /// A valid, readable address for an empty body (libcurl copies none of its bytes): the
    /// NUL that ends a static empty string.
    private static var emptyBody: UnsafePointer<UInt8> { ("" as StaticString).utf8Start }

    /// Where the response body goes.
    public enum BodySink {
        case memory
        /// Appended to an open file descriptor (not closed by the handle). Only a 2xx
        /// response's body is written there (an error body is kept in memory); with
        /// `resumed`, a 200 (the server ignored Range) first empties the file.
        case fileDescriptor(Int32, resumed: Bool, tee: (any BodyTee)? = nil)
        /// Handed to a closure chunk by chunk; return false to abort the transfer.
        case stream((UnsafeRawBufferPointer) -> Bool)
    }

    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var requestBody: [UInt8] = []
    private var readOffset = 0
    private var sink: BodySink = .memory
    private(set) var responseBody: [UInt8] = []
    private(set) var responseHeaders: [String: String] = [:]
    /// Bytes of body received in this transfer.
    public private(set) var receivedBytes: Int64 = 0
    private var writeFailed = false
    private var sinkChecked = false
    private var bodyToMemory = false
    /// A caller's tag, for multi transfers.
    public var tag: Int = 0
    let url: String

    /// Prepares a handle for `request`.
    public init(_ request: HTTPRequest, sink: BodySink = .memory, extraHeaders: [(String, String)] = []) throws(HTTPError) {
        try CurlGlobal.ensureLoaded()
        guard let h = fl_easy_init() else { throw HTTPError(code: -1, message: "curl_easy_init failed") }
        handle = h
        url = request.url
        self.sink = sink
        try configure(request, extraHeaders: extraHeaders)
    }

    deinit {
        fl_slist_free_all(headerList)
        fl_easy_cleanup(handle)
    }

    private func check(_ code: CURLcode, _ what: String) throws(HTTPError) {
        guard code == CURLE_OK else {
            throw HTTPError(code: Int32(code.rawValue), message: "\(what): \(String(cString: fl_easy_strerror(code)))")
        }
    }

    private func configure(_ request: HTTPRequest, extraHeaders: [(String, String)]) throws(HTTPError) {
        try check(fl_easy_setopt_string(handle, CURLOPT_URL, request.url), "setting the URL \(request.url)")
        try check(fl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "CURLOPT_NOSIGNAL")
        // Object keys like "a/../b" must reach the server as written, not be squashed.
        try check(fl_easy_setopt_long(handle, CURLOPT_PATH_AS_IS, 1), "CURLOPT_PATH_AS_IS")
        try check(fl_easy_setopt_long(handle, CURLOPT_TIMEOUT, request.timeoutSeconds), "CURLOPT_TIMEOUT")
        try check(fl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, 10), "CURLOPT_CONNECTTIMEOUT")
        // Abort transfers that stall (below 1 byte/s) for the request's stall timeout.
        if let stall = request.stallTimeoutSeconds {
            try check(fl_easy_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1), "CURLOPT_LOW_SPEED_LIMIT")
            try check(fl_easy_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, stall), "CURLOPT_LOW_SPEED_TIME")
        }
        if let socket = request.unixSocketPath {
            try check(fl_easy_setopt_string(handle, CURLOPT_UNIX_SOCKET_PATH, socket), "CURLOPT_UNIX_SOCKET_PATH")
        }
        var headers = request.headers + extraHeaders
        if let signing = request.signing {
            try check(fl_easy_setopt_string(handle, CURLOPT_AWS_SIGV4, signing.provider), "CURLOPT_AWS_SIGV4")
            try check(fl_easy_setopt_string(handle, CURLOPT_USERPWD, "\(signing.accessKeyID):\(signing.secretAccessKey)"), "CURLOPT_USERPWD")
            if let token = signing.sessionToken, !token.isEmpty { headers.append(("x-amz-security-token", token)) }
        }
        let method = request.method.uppercased()
        switch method {
        case "GET": break
        case "HEAD":
            try check(fl_easy_setopt_long(handle, CURLOPT_NOBODY, 1), "CURLOPT_NOBODY")
        default:
            if let body = request.body {
                if method == "PUT" || body.count > 1 << 20 {
                    // Streamed from memory through the read callback (no copy by libcurl).
                    requestBody = body
                    try check(fl_easy_setopt_long(handle, CURLOPT_UPLOAD, 1), "CURLOPT_UPLOAD")
                    try check(fl_easy_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.count)), "CURLOPT_INFILESIZE_LARGE")
                    try check(fl_easy_setopt_read_callback(handle, curlRead), "CURLOPT_READFUNCTION")
                    try check(fl_easy_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(self).toOpaque()), "CURLOPT_READDATA")
                    // No "Expect:" override here: libcurl's SigV4 would sign the empty header it never sends.
                } else {
                    // Small bodies are copied so libcurl's SigV4 can hash them.
                    try check(fl_easy_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "CURLOPT_POSTFIELDSIZE_LARGE")
                    let rc = body.withUnsafeBufferPointer { buf in
                        fl_easy_setopt_pointer(
                            handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buf.baseAddress ?? Self.emptyBody))
                    }
                    try check(rc, "CURLOPT_COPYPOSTFIELDS")
                }
            } else if method == "POST" {
                try check(fl_easy_setopt_long(handle, CURLOPT_POSTFIELDSIZE, 0), "CURLOPT_POSTFIELDSIZE")
                try check(fl_easy_setopt_string(handle, CURLOPT_POSTFIELDS, ""), "CURLOPT_POSTFIELDS")
            }
            if method != "POST" || request.body == nil {
                try check(fl_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method), "CURLOPT_CUSTOMREQUEST")
            }
            if method == "PUT" && request.body == nil {
                try check(fl_easy_setopt_long(handle, CURLOPT_UPLOAD, 1), "CURLOPT_UPLOAD")
                try check(fl_easy_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, 0), "CURLOPT_INFILESIZE_LARGE")
                try check(fl_easy_setopt_read_callback(handle, curlRead), "CURLOPT_READFUNCTION")
                try check(fl_easy_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(self).toOpaque()), "CURLOPT_READDATA")
            }
        }
        for (name, value) in headers {
            // "Name:" with nothing after removes a header libcurl would add; "Name;" sends it empty.
            let line = value.isEmpty ? "\(name):" : "\(name): \(value)"
            guard let list = fl_slist_append(headerList, line) else { throw HTTPError(code: -1, message: "curl_slist_append failed") }
            headerList = list
        }
        if headerList != nil {
            try check(fl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList), "CURLOPT_HTTPHEADER")
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(fl_easy_setopt_write_callback(handle, curlWrite), "CURLOPT_WRITEFUNCTION")
        try check(fl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, me), "CURLOPT_WRITEDATA")
        try check(fl_easy_setopt_header_callback(handle, curlHeader), "CURLOPT_HEADERFUNCTION")
        try check(fl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, me), "CURLOPT_HEADERDATA")
    }

    /// Runs the transfer on this thread (blocking) and returns the response.
    public func perform() throws(HTTPError) -> HTTPResponse {
        let code = fl_easy_perform(handle)
        return try result(code)
    }

    /// The response once a transfer finished with `code`.
    public func result(_ code: CURLcode) throws(HTTPError) -> HTTPResponse {
        if writeFailed {
            throw HTTPError(code: Int32(CURLE_WRITE_ERROR.rawValue), message: "\(url): writing the response failed")
        }
        guard code == CURLE_OK else {
            throw HTTPError(code: Int32(code.rawValue), message: "\(url): \(String(cString: fl_easy_strerror(code)))")
        }
        var status = 0
        _ = fl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: responseHeaders, body: responseBody)
    }

    fileprivate func receive(_ data: UnsafeRawBufferPointer) -> Bool {
        receivedBytes += Int64(data.count)
        switch sink {
        case .memory:
            responseBody.append(contentsOf: data)
            return true
        case let .fileDescriptor(fd, resumed, tee):
            if !sinkChecked {
                sinkChecked = true
                var status = 0
                _ = fl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
                if !(200..<300).contains(status) {
                    bodyToMemory = true
                } else if resumed && status == 200 {
                    if ftruncate(fd, 0) != 0 {
                        writeFailed = true
                        return false
                    }
                    tee?.restart()
                }
            }
            if !bodyToMemory { tee?.consume(data) }
            if bodyToMemory {
                responseBody.append(contentsOf: data.prefix(64 << 10 - responseBody.count))
                return true
            }
            var offset = 0
            while offset < data.count {
                guard let base = data.baseAddress else { return true }
                let n = write(fd, base + offset, data.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    writeFailed = true
                    return false
                }
                offset += n
            }
            return true
        case let .stream(body):
            if !body(data) {
                writeFailed = true
                return false
            }
            return true
        }
    }

    fileprivate func header(_ line: String) {
        if line.hasPrefix("HTTP/") {
            // A new response (after a redirect or 100-continue): start over.
            responseHeaders = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        responseHeaders[name] = value
    }

    fileprivate func read(into buffer: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        let n = min(max, requestBody.count - readOffset)
        guard n > 0 else { return 0 }
        requestBody.withUnsafeBytes { raw in
            if let base = raw.baseAddress {
                UnsafeMutableRawPointer(buffer).copyMemory(from: base + readOffset, byteCount: n)
            }
        }
        readOffset += n
        return n
    }

    /// Rewinds the request body, for a retry with the same handle.
    func rewind() { readOffset = 0 }
}

private func curlWrite(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ ctx: UnsafeMutableRawPointer?) -> Int {
    guard let ctx, let ptr else { return 0 }
    let easy = Unmanaged<CurlEasy>.fromOpaque(ctx).takeUnretainedValue()
    let n = size * count
    return easy.receive(UnsafeRawBufferPointer(start: ptr, count: n)) ? n : 0
}

private func curlHeader(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ ctx: UnsafeMutableRawPointer?) -> Int {
    guard let ctx, let ptr else { return 0 }
    let easy = Unmanaged<CurlEasy>.fromOpaque(ctx).takeUnretainedValue()
    let n = size * count
    easy.header(String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self))
    return n
}

private func curlRead(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ ctx: UnsafeMutableRawPointer?) -> Int {
    guard let ctx, let ptr else { return 0 }
    let easy = Unmanaged<CurlEasy>.fromOpaque(ctx).takeUnretainedValue()
    return easy.read(into: ptr, max: size * count)
}
