import CurlHTTP
import Foundation

/// Sends mail through Amazon SES (`SendEmail`, query protocol).
public struct SESClient: Sendable {
    let service: AWSService

    public init(endpoint: String, region: String, credentials: AWSCredentials) {
        service = AWSService(endpoint: endpoint, region: region, credentials: credentials, signingName: "ses")
    }

    /// Sends a text + HTML message; returns SES's MessageId.
    public func sendEmail(from: String, to: String, subject: String, text: String, html: String) throws(ZipTaskError) -> String {
        let fields: [(String, String)] = [
            ("Action", "SendEmail"), ("Version", "2010-12-01"), ("Source", from),
            ("Destination.ToAddresses.member.1", to),
            ("Message.Subject.Data", subject), ("Message.Subject.Charset", "UTF-8"),
            ("Message.Body.Text.Data", text), ("Message.Body.Text.Charset", "UTF-8"),
            ("Message.Body.Html.Data", html), ("Message.Body.Html.Charset", "UTF-8"),
        ]
        let body = fields.map { "\(S3Client.encodeQueryValue($0.0))=\(S3Client.encodeQueryValue($0.1))" }.joined(separator: "&")
        let response: HTTPResponse
        do {
            response = try service.post(headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: Array(body.utf8))
        } catch {
            throw ZipTaskError(.aws, "sending the email through SES failed: \(error)")
        }
        guard response.status == 200 else {
            throw ZipTaskError(.aws, "SES refused the email to \(to): \(AWSResponse.errorSummary(response))")
        }
        return XMLText.first("MessageId", in: response.bodyText) ?? ""
    }
}
