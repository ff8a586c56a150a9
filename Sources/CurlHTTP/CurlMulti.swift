import CCurl
import Foundation

/// Owns a `CURLM*` and runs several easy handles at once on the calling thread.
/// Not Sendable: drive it from one thread.
public final class CurlMulti {
    private let handle: UnsafeMutableRawPointer
    private var active: [UnsafeMutableRawPointer: CurlEasy] = [:]

    /// A multi handle; loads libcurl first if it is not loaded yet.
    public init() throws(HTTPError) {
        try CurlGlobal.ensureLoaded()
        guard let m = fl_multi_init() else { throw HTTPError(code: -1, message: "curl_multi_init failed") }
        handle = m
    }

    deinit {
        for (h, _) in active { fl_multi_remove_handle(handle, h) }
        fl_multi_cleanup(handle)
    }

    /// Number of transfers in progress.
    public var count: Int { active.count }

    /// Starts a transfer.
    public func add(_ easy: CurlEasy) throws(HTTPError) {
        let rc = fl_multi_add_handle(handle, easy.handle)
        guard rc == CURLM_OK else { throw HTTPError(code: Int32(rc.rawValue), message: "curl_multi_add_handle: \(String(cString: fl_multi_strerror(rc)))") }
        active[easy.handle] = easy
    }

    /// Drives transfers for up to `timeoutMilliseconds` and returns those that finished, with their results.
    public func poll(timeoutMilliseconds: Int32) throws(HTTPError) -> [(CurlEasy, Result<HTTPResponse, HTTPError>)] {
        var running: Int32 = 0
        var rc = fl_multi_perform(handle, &running)
        guard rc == CURLM_OK else { throw HTTPError(code: Int32(rc.rawValue), message: "curl_multi_perform: \(String(cString: fl_multi_strerror(rc)))") }
        if running > 0 {
            rc = fl_multi_poll(handle, nil, 0, timeoutMilliseconds, nil)
            guard rc == CURLM_OK else { throw HTTPError(code: Int32(rc.rawValue), message: "curl_multi_poll: \(String(cString: fl_multi_strerror(rc)))") }
            rc = fl_multi_perform(handle, &running)
        }
        var done: [(CurlEasy, Result<HTTPResponse, HTTPError>)] = []
        var queued: Int32 = 0
        while let msg = fl_multi_info_read(handle, &queued) {
            guard msg.pointee.msg == CURLMSG_DONE, let h = msg.pointee.easy_handle, let easy = active[h] else { continue }
            let code = msg.pointee.data.result
            fl_multi_remove_handle(handle, h)
            active[h] = nil
            done.append((easy, Result { () throws(HTTPError) -> HTTPResponse in try easy.result(code) }))
        }
        return done
    }
}
