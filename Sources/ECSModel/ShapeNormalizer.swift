/// Checks a JSON document against an ECS model shape and rewrites what real
/// files contain into what ECS accepts: `null` and `""` for absent fields are
/// dropped, numbers written as strings become numbers, and so on. Everything it
/// changes is reported as a warning; everything it cannot accept is an error.
struct ShapeNormalizer {
    private(set) var diagnostics: [Diagnostic] = []

    /// Normalises `value` as shape `shapeName`; nil means "drop this field".
    mutating func normalize(_ value: JSONValue, as shapeName: String, at path: JSONPath) -> JSONValue? {
        guard let shape = ECSShape.all[shapeName] else { return value }
        if case .null = value { return nil }
        switch shape {
        case let .structure(members, required):
            guard case let .object(fields) = value else {
                error(path, "must be an object, not \(value.typeDescription)")
                return nil
            }
            var out: [(key: String, value: JSONValue)] = []
            var present = Set<String>()
            for (key, fieldValue) in fields {
                let fieldPath = path.member(key)
                guard let memberShape = members.first(where: { $0.0 == key })?.1 else {
                    if let near = members.first(where: { $0.0.lowercased() == key.lowercased() }) {
                        warning(fieldPath, "unknown field; ignored (did you mean \"\(near.0)\"? field names are case-sensitive)")
                    } else {
                        warning(fieldPath, "unknown field; ignored")
                    }
                    continue
                }
                if present.contains(key) {
                    error(fieldPath, "appears more than once")
                    continue
                }
                if case .null = fieldValue {} else { present.insert(key) }
                let before = diagnostics.count
                if let normalized = normalize(fieldValue, as: memberShape, at: fieldPath) {
                    out.append((key, normalized))
                } else if required.contains(key) && !diagnostics[before...].contains(where: { $0.severity == .error }) {
                    // A required field that normalising dropped (an empty string): not absent
                    // but missing, so an error, in place of the warning that it was dropped.
                    diagnostics.removeSubrange(before...)
                    error(fieldPath, "is required; an empty value was given")
                }
            }
            for name in required where !present.contains(name) {
                error(path.member(name), "is required")
            }
            return .object(out)
        case let .list(member):
            guard case let .array(items) = value else {
                error(path, "must be an array, not \(value.typeDescription)")
                return nil
            }
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() {
                if case .null = item {
                    warning(path.index(i), "null element; ignored")
                    continue
                }
                if let n = normalize(item, as: member, at: path.index(i)) { out.append(n) }
            }
            return .array(out)
        case let .map(_, valueShape):
            guard case let .object(fields) = value else {
                error(path, "must be an object of names to values, not \(value.typeDescription)")
                return nil
            }
            var out: [(key: String, value: JSONValue)] = []
            for (key, fieldValue) in fields {
                if case .null = fieldValue {
                    warning(path.member(key), "null value; ignored")
                    continue
                }
                if let n = normalize(fieldValue, as: valueShape, at: path.member(key)) { out.append((key, n)) }
            }
            return .object(out)
        case let .enumeration(allowed):
            guard case let .string(s) = value else {
                error(path, "must be one of \(Self.list(allowed)), not \(value.typeDescription)")
                return nil
            }
            if s.isEmpty {
                warning(path, "empty string treated as absent")
                return nil
            }
            if allowed.contains(s) { return value }
            if let match = allowed.first(where: { $0.lowercased() == s.lowercased() }) {
                error(path, "\"\(s)\" is not a valid value; did you mean \"\(match)\"? (values are case-sensitive)")
            } else {
                error(path, "\"\(s)\" is not a valid value; must be one of \(Self.list(allowed))")
            }
            // Kept (the error already blocks registration) so the semantic rules can still run.
            return value
        case .string:
            switch value {
            case .string: return value
            case let .number(n):
                warning(path, "a number where ECS expects a string; using \"\(n)\"")
                return .string(n)
            case let .bool(b):
                warning(path, "a boolean where ECS expects a string; using \"\(b)\"")
                return .string(b ? "true" : "false")
            default:
                error(path, "must be a string, not \(value.typeDescription)")
                return nil
            }
        case .integer:
            switch value {
            case let .number(n):
                if Int(n) != nil { return value }
                if let d = Double(n), d == d.rounded(), abs(d) < 1e15 {
                    return .number(String(Int(d)))
                }
                error(path, "must be a whole number, not \(n)")
                return nil
            case let .string(s):
                let t = s.trimmingWhitespace()
                if t.isEmpty {
                    warning(path, "empty string treated as absent")
                    return nil
                }
                if let i = Int(t) {
                    warning(path, "a string where ECS expects a number; using \(i)")
                    return .number(String(i))
                }
                error(path, "must be a whole number, not the string \"\(s)\"\(Self.placeholderHint(s))")
                return nil
            default:
                error(path, "must be a whole number, not \(value.typeDescription)")
                return nil
            }
        case .double:
            switch value {
            case .number: return value
            case let .string(s):
                if let d = Double(s.trimmingWhitespace()) {
                    warning(path, "a string where ECS expects a number; using \(d)")
                    return .number(s.trimmingWhitespace())
                }
                error(path, "must be a number, not the string \"\(s)\"\(Self.placeholderHint(s))")
                return nil
            default:
                error(path, "must be a number, not \(value.typeDescription)")
                return nil
            }
        case .boolean:
            switch value {
            case .bool: return value
            case let .string(s) where ["true", "false"].contains(s.lowercased()):
                warning(path, "a string where ECS expects a boolean; using \(s.lowercased())")
                return .bool(s.lowercased() == "true")
            default:
                error(path, "must be true or false, not \(value.typeDescription)")
                return nil
            }
        case .timestamp:
            return value
        }
    }

    private mutating func error(_ path: JSONPath, _ message: String) {
        diagnostics.append(Diagnostic(.error, path.text, message))
    }

    private mutating func warning(_ path: JSONPath, _ message: String) {
        diagnostics.append(Diagnostic(.warning, path.text, message))
    }

    static func list(_ values: [String]) -> String {
        values.map { "\"\($0)\"" }.joined(separator: ", ")
    }

    static func placeholderHint(_ s: String) -> String {
        Placeholder.find(in: s) != nil ? " (it looks like a placeholder that was never substituted)" : ""
    }
}

/// Detects template placeholders left in a file: `<IMAGE1_NAME>`, `${VAR}`, `{{var}}`.
public enum Placeholder {
    /// The first placeholder in `s`, if any.
    public static func find(in s: String) -> String? {
        for (open, close) in [("${", "}"), ("{{", "}}"), ("<", ">")] {
            guard let start = s.range(of: open) else { continue }
            guard let end = s.range(of: close, range: start.upperBound..<s.endIndex) else { continue }
            let inner = s[start.upperBound..<end.lowerBound]
            let looksLikeName = !inner.isEmpty && inner.count <= 64
                && inner.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." || $0 == " " }
            if looksLikeName { return String(s[start.lowerBound..<end.upperBound]) }
        }
        return nil
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
