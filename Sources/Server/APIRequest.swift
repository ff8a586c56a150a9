import ECSModel
import Foundation

/// A parsed JSON request body with typed accessors that name the offending field.
struct APIRequest {
    let body: JSONValue

    init(bytes: [UInt8]) throws(APIError) {
        if bytes.isEmpty {
            body = .object([])
            return
        }
        do {
            body = try JSONParser.parse(bytes)
        } catch {
            throw APIError("SerializationException", "The request body is not valid JSON: \(error)")
        }
        guard case .object = body else { throw APIError("SerializationException", "The request body must be a JSON object.") }
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = body[key] else { return nil }
        switch v {
        case .null: return nil
        case let .string(s): return s
        default: throw APIError.invalidParameter("\(key) must be a string, not \(v.typeDescription).")
        }
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let s = try string(key), !s.isEmpty else { throw APIError.invalidParameter("\(key) is required.") }
        return s
    }

    func int(_ key: String) throws(APIError) -> Int? {
        guard let v = body[key] else { return nil }
        switch v {
        case .null: return nil
        case let .number(n):
            guard let i = Int(n) else { throw APIError.invalidParameter("\(key) must be a whole number.") }
            return i
        default: throw APIError.invalidParameter("\(key) must be a number, not \(v.typeDescription).")
        }
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = body[key] else { return nil }
        if case let .bool(b) = v { return b }
        if case .null = v { return nil }
        throw APIError.invalidParameter("\(key) must be true or false.")
    }

    func strings(_ key: String) throws(APIError) -> [String]? {
        guard let v = body[key] else { return nil }
        if case .null = v { return nil }
        guard case let .array(items) = v else { throw APIError.invalidParameter("\(key) must be a list of strings.") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard let s = item.stringValue else { throw APIError.invalidParameter("\(key)[\(i)] must be a string.") }
            out.append(s)
        }
        return out
    }

    /// Member `key` as resource tags (`[{key, value}]`), each checked as ECS checks them.
    func tags(_ key: String = "tags") throws(APIError) -> [Tag]? {
        guard let v = body[key] else { return nil }
        if case .null = v { return nil }
        guard case let .array(items) = v else { throw APIError.invalidParameter("\(key) must be a list of {key, value}.") }
        var out: [Tag] = []
        for (i, item) in items.enumerated() {
            guard let k = item["key"]?.stringValue, !k.isEmpty, k.count <= 128 else {
                throw APIError.invalidParameter("\(key)[\(i)].key is required (1 to 128 characters).")
            }
            let value = item["value"]?.stringValue ?? ""
            if value.count > 256 { throw APIError.invalidParameter("\(key)[\(i)].value is longer than 256 characters.") }
            out.append(Tag(key: k, value: value))
        }
        return out
    }
}
