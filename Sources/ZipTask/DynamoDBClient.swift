import CurlHTTP
import Foundation

/// The request table in DynamoDB (JSON 1.0 protocol): read the request, record its status.
public struct DynamoDBClient: Sendable {
    let service: AWSService

    public init(endpoint: String, region: String, credentials: AWSCredentials) {
        service = AWSService(endpoint: endpoint, region: region, credentials: credentials, signingName: "dynamodb")
    }

    func call(_ operation: String, _ payload: [String: Any]) throws(ZipTaskError) -> [String: Any] {
        let response: HTTPResponse
        do {
            response = try service.post(
                headers: [("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "DynamoDB_20120810.\(operation)")],
                body: JSONLite.data(payload))
        } catch {
            throw ZipTaskError(.aws, "DynamoDB \(operation) failed: \(error)")
        }
        guard response.status == 200 else {
            throw ZipTaskError(.aws, "DynamoDB \(operation) on table \(payload["TableName"] ?? "") failed: \(AWSResponse.errorSummary(response))")
        }
        return JSONLite.object(response.bodyText) ?? [:]
    }

    /// The item with `requestId = id`, in DynamoDB's attribute-value JSON, or nil.
    public func getRequest(table: String, id: String) throws(ZipTaskError) -> [String: Any]? {
        let result = try call("GetItem", ["TableName": table, "Key": ["requestId": ["S": id]], "ConsistentRead": true])
        return result["Item"] as? [String: Any]
    }

    /// Sets attributes of the request item (creating it if absent).
    public func update(table: String, id: String, set values: [String: Any]) throws(ZipTaskError) {
        var names: [String: String] = [:]
        var attributeValues: [String: Any] = [:]
        var clauses: [String] = []
        for (i, (name, value)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
            names["#a\(i)"] = name
            attributeValues[":v\(i)"] = Self.attributeValue(value)
            clauses.append("#a\(i) = :v\(i)")
        }
        _ = try call(
            "UpdateItem",
            [
                "TableName": table, "Key": ["requestId": ["S": id]],
                "UpdateExpression": "SET " + clauses.joined(separator: ", "),
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": attributeValues,
            ])
    }

    static func attributeValue(_ v: Any) -> [String: Any] {
        switch v {
        case let i as Int: return ["N": String(i)]
        case let i as Int64: return ["N": String(i)]
        case let d as Double: return ["N": String(d)]
        case let list as [String]: return ["L": list.map { ["S": $0] }]
        default: return ["S": "\(v)"]
        }
    }
}

/// Reads DynamoDB attribute values.
enum AttributeValue {
    static func string(_ item: [String: Any], _ name: String) -> String? {
        (item[name] as? [String: Any])?["S"] as? String
    }

    /// A list of strings from an `L` of `S` or an `SS`.
    static func strings(_ item: [String: Any], _ name: String) -> [String]? {
        guard let attr = item[name] as? [String: Any] else { return nil }
        if let ss = attr["SS"] as? [String] { return ss }
        if let list = attr["L"] as? [[String: Any]] {
            let values = list.compactMap { $0["S"] as? String }
            return values.count == list.count ? values : nil
        }
        return nil
    }
}
