/// One finding about an input document: where it is (a JSON path such as
/// `containerDefinitions[2].dependsOn[0].condition`) and what to do about it.
public struct Diagnostic: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Whether the finding blocks registration and running.
    public enum Severity: String, Sendable, Codable {
        case error
        case warning
    }

    public let severity: Severity
    /// The JSON path of the offending field; empty for the document as a whole.
    public let path: String
    public let message: String

    public init(_ severity: Severity, _ path: String, _ message: String) {
        self.severity = severity
        self.path = path
        self.message = message
    }

    /// `error: containerDefinitions[0].name: ...`
    public var description: String {
        path.isEmpty ? "\(severity.rawValue): \(message)" : "\(severity.rawValue): \(path): \(message)"
    }
}

extension Array where Element == Diagnostic {
    /// The diagnostics that block registration.
    public var errors: [Diagnostic] { filter { $0.severity == .error } }
    /// The diagnostics that do not block registration.
    public var warnings: [Diagnostic] { filter { $0.severity == .warning } }
}

/// Builds JSON paths the way AWS documents them: `a.b[2].c`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public private(set) var text: String

    public init(_ text: String = "") { self.text = text }

    /// The path of member `key` below this one.
    public func member(_ key: String) -> JSONPath {
        let simple = !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        if simple {
            return JSONPath(text.isEmpty ? key : text + "." + key)
        }
        return JSONPath(text + "[" + JSONValue.quote(key) + "]")
    }

    /// The path of element `index` below this one.
    public func index(_ i: Int) -> JSONPath { JSONPath(text + "[\(i)]") }

    public var description: String { text }
}
