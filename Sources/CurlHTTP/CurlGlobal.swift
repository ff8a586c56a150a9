import CCurl
import Foundation

/// libcurl, loaded and initialised once per process before the first handle.
enum CurlGlobal {
    /// Why libcurl cannot be used, or nil once it is loaded and initialised.
    static let failure: String? = {
        if let error = fl_curl_load() { return String(cString: error) }
        let code = fl_global_init(Int(CURL_GLOBAL_ALL))
        return code == CURLE_OK ? nil : "curl_global_init: \(String(cString: fl_easy_strerror(code)))"
    }()

    /// Loads libcurl if it is not yet, or throws what stops it.
    static func ensureLoaded() throws(HTTPError) {
        if let failure { throw HTTPError(code: -1, message: failure) }
    }
}
