import CurlHTTP

/// One AWS service endpoint, with the region and credentials its requests are signed for
/// (by libcurl's SigV4 support).
public struct AWSService: Sendable {
    public let endpoint: String
    public let region: String
    public let credentials: AWSCredentials
    /// SigV4's service name (`dynamodb`, `ses`).
    public let signingName: String
    let http = HTTPClient()

    public init(endpoint: String, region: String, credentials: AWSCredentials, signingName: String) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.signingName = signingName
    }

    /// POSTs a signed body to the endpoint, retrying transient failures.
    func post(headers: [(String, String)], body: [UInt8]) throws(HTTPError) -> HTTPResponse {
        let request = HTTPRequest(
            method: "POST", url: endpoint + "/", headers: headers, body: body,
            signing: credentials.signing(region: region, service: signingName), timeoutSeconds: 30)
        return try AWSResponse.send(http, request)
    }
}
