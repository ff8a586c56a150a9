import CurlHTTP
import Foundation

/// Classifies AWS responses: which failures are worth retrying.
enum AWSResponse {
    /// 5xx, 429 and throttling are transient.
    static func isRetryable(_ status: Int, body: [UInt8] = []) -> Bool {
        if status >= 500 || status == 429 { return true }
        let text = String(decoding: body.prefix(2048), as: UTF8.self)
        return status == 400 && (text.contains("Throttling") || text.contains("ProvisionedThroughputExceeded") || text.contains("RequestLimitExceeded"))
    }

    /// `Code: Message` from an S3/SES XML error or a JSON `__type`/`message` error.
    static func errorSummary(_ response: HTTPResponse) -> String {
        let text = response.bodyText
        if let code = XMLText.first("Code", in: text) {
            return code + (XMLText.first("Message", in: text).map { ": \($0)" } ?? "")
        }
        if text.hasPrefix("{"), let obj = JSONLite.object(text) {
            let type = (obj["__type"] as? String).map { String($0.split(separator: "#").last ?? "") } ?? ""
            let message = (obj["message"] as? String) ?? (obj["Message"] as? String) ?? ""
            if !type.isEmpty || !message.isEmpty { return [type, message].filter { !$0.isEmpty }.joined(separator: ": ") }
        }
        return "HTTP \(response.status)"
    }

    /// Sends with retries on transport errors and retryable statuses; returns the last response.
    static func send(_ http: HTTPClient, _ request: HTTPRequest, attempts: Int = 5) throws(HTTPError) -> HTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try http.send(request)
                if isRetryable(response.status, body: response.body) && attempt < attempts {
                    Thread.sleep(forTimeInterval: Retry.delay(attempt: attempt))
                    continue
                }
                return response
            } catch {
                if attempt >= attempts { throw error }
                Thread.sleep(forTimeInterval: Retry.delay(attempt: attempt))
            }
        }
    }
}

/// Pulls element text out of small, trusted-shape XML responses (S3, SES).
enum XMLText {
    static func first(_ element: String, in text: String) -> String? {
        all(element, in: text).first
    }

    static func all(_ element: String, in text: String) -> [String] {
        var out: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(element)>"), let close = rest.range(of: "</\(element)>", range: open.upperBound..<rest.endIndex) {
            out.append(unescape(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// JSON via Foundation, for the small documents DynamoDB and the credentials endpoint return.
enum JSONLite {
    static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    static func data(_ object: Any) -> [UInt8] {
        (try? Array(JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))) ?? []
    }
}
