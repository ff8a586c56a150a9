import ECSModel
import Foundation

/// Encodes model values as ECS's wire JSON (timestamps as epoch seconds).
enum WireJSON {
    static func value<T: Encodable>(_ v: T) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        guard let data = try? encoder.encode(v), let parsed = try? JSONParser.parse(Array(data)) else { return .null }
        return parsed
    }

    static func number(_ d: Date) -> JSONValue { .number(String(d.timeIntervalSince1970)) }
    /// A time as CloudWatch Logs gives it: whole milliseconds since the epoch (ECS gives
    /// seconds, `number(_:)`).
    static func milliseconds(_ d: Date) -> JSONValue { .number(String(Int64((d.timeIntervalSince1970 * 1000).rounded(.down)))) }
    static func number(_ i: Int) -> JSONValue { .number(String(i)) }
    static func number(_ i: Int64) -> JSONValue { .number(String(i)) }
    static func strings(_ list: [String]) -> JSONValue { .array(list.map { .string($0) }) }
}
