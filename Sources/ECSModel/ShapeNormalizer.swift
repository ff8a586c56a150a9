/// Checks a JSON document against an ECS model shape and rewrites what real
/// files contain into what ECS accepts: `null` and `""` for absent fields are
/// dropped, numbers written as strings become numbers, and so on. Everything it
/// changes is reported as a warning; everything it cannot accept is an error.
struct ShapeNormalizer {
    private(set) var diagnostics: [Diagnostic] = []
    /// What `aws ecs register-task-definition --cli-input-json` (botocore's parameter
    /// validation) says of the document as written, in its words: the unknown fields, nulls
    /// and values of the wrong JSON type this normaliser accepts.
    private(set) var awsCLIRefusals: [String] = []

    /// Normalises `value` as shape `shapeName`; nil means "drop this field".
    mutating func normalize(_ value: JSONValue, as shapeName: String, at path: JSONPath) -> JSONValue? {
        guard let shape = ECSShape.all[shapeName] else { return value }
        if case .null = value { return nil }
        switch shape {
        case let .structure(members, required):
            guard case let .object(fields) = value else {
                refuse(path, value, as: shapeName)
                error(path, "must be an object, not \(value.typeDescription)")
                return nil
            }
            // botocore checks a structure's required members first, then its unknown ones,
            // then each known member in turn.
            let name = path.text.isEmpty ? "input" : path.text
            for member in required where !fields.contains(where: { $0.key == member }) {
                awsCLIRefusals.append("Missing required parameter in \(name): \"\(member)\"")
            }
            for (key, _) in fields where !members.contains(where: { $0.0 == key }) {
                awsCLIRefusals.append("Unknown parameter in \(name): \"\(key)\", must be one of: \(members.map(\.0).joined(separator: ", "))")
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
                if case .null = fieldValue {
                    refuse(fieldPath, fieldValue, as: memberShape)
                } else {
                    present.insert(key)
                }
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
                refuse(path, value, as: shapeName)
                error(path, "must be an array, not \(value.typeDescription)")
                return nil
            }
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() {
                if case .null = item {
                    refuse(path.index(i), item, as: member)
                    warning(path.index(i), "null element; ignored")
                    continue
                }
                if let n = normalize(item, as: member, at: path.index(i)) { out.append(n) }
            }
            return .array(out)
        case let .map(_, valueShape):
            guard case let .object(fields) = value else {
                refuse(path, value, as: shapeName)
                error(path, "must be an object of names to values, not \(value.typeDescription)")
                return nil
            }
            var out: [(key: String, value: JSONValue)] = []
            for (key, fieldValue) in fields {
                if case .null = fieldValue {
                    refuse(path.member(key), fieldValue, as: valueShape)
                    warning(path.member(key), "null value; ignored")
                    continue
                }
                if let n = normalize(fieldValue, as: valueShape, at: path.member(key)) { out.append((key, n)) }
            }
            return .object(out)
        case let .enumeration(allowed):
            guard case let .string(s) = value else {
                refuse(path, value, as: shapeName)
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
                refuse(path, value, as: shapeName)
                warning(path, "a number where ECS expects a string; using \"\(n)\"")
                return .string(n)
            case let .bool(b):
                refuse(path, value, as: shapeName)
                warning(path, "a boolean where ECS expects a string; using \"\(b)\"")
                return .string(b ? "true" : "false")
            default:
                refuse(path, value, as: shapeName)
                error(path, "must be a string, not \(value.typeDescription)")
                return nil
            }
        case .integer:
            switch value {
            case let .number(n):
                if Int(n) != nil { return value }
                if let d = Double(n), d == d.rounded(), abs(d) < 1e15 {
                    refuse(path, value, as: shapeName)
                    return .number(String(Int(d)))
                }
                refuse(path, value, as: shapeName)
                error(path, "must be a whole number, not \(n)")
                return nil
            case let .string(s):
                refuse(path, value, as: shapeName)
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
                refuse(path, value, as: shapeName)
                error(path, "must be a whole number, not \(value.typeDescription)")
                return nil
            }
        case .double:
            switch value {
            case .number: return value
            case let .string(s):
                refuse(path, value, as: shapeName)
                if let d = Double(s.trimmingWhitespace()) {
                    warning(path, "a string where ECS expects a number; using \(d)")
                    return .number(s.trimmingWhitespace())
                }
                error(path, "must be a number, not the string \"\(s)\"\(Self.placeholderHint(s))")
                return nil
            default:
                refuse(path, value, as: shapeName)
                error(path, "must be a number, not \(value.typeDescription)")
                return nil
            }
        case .boolean:
            switch value {
            case .bool: return value
            case let .string(s) where ["true", "false"].contains(s.lowercased()):
                refuse(path, value, as: shapeName)
                warning(path, "a string where ECS expects a boolean; using \(s.lowercased())")
                return .bool(s.lowercased() == "true")
            default:
                refuse(path, value, as: shapeName)
                error(path, "must be true or false, not \(value.typeDescription)")
                return nil
            }
        case .timestamp:
            return value
        }
    }

    /// Notes botocore's refusal of `value` where the model has `shapeName`.
    private mutating func refuse(_ path: JSONPath, _ value: JSONValue, as shapeName: String) {
        guard let shape = ECSShape.all[shapeName] else { return }
        awsCLIRefusals.append(Self.invalidType(path.text, value, shape))
    }

    /// botocore's "Invalid type for parameter" line, as `aws` prints it.
    static func invalidType(_ path: String, _ value: JSONValue, _ shape: ECSShape) -> String {
        let valid: String
        switch shape {
        case .string, .enumeration: valid = "<class 'str'>"
        case .integer: valid = "<class 'int'>"
        case .double: valid = "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>"
        case .boolean: valid = "<class 'bool'>"
        case .list: valid = "<class 'list'>, <class 'tuple'>"
        case .structure, .map: valid = "<class 'dict'>"
        case .timestamp: valid = "<class 'datetime.datetime'>, <class 'str'>"
        }
        let type: String
        switch value {
        case .null: type = "NoneType"
        case .bool: type = "bool"
        case let .number(n): type = Int(n) != nil ? "int" : "float"
        case .string: type = "str"
        case .array: type = "list"
        case .object: type = "dict"
        }
        return "Invalid type for parameter \(path), value: \(pythonText(value, nested: false)), type: <class '\(type)'>, valid types: \(valid)"
    }

    /// A JSON value as Python's str() prints what json.loads gives for it.
    static func pythonText(_ value: JSONValue, nested: Bool) -> String {
        switch value {
        case .null: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .number(n): return Int(n).map(String.init) ?? Double(n).map { "\($0)" } ?? n
        case let .string(s):
            guard nested else { return s }
            return "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        case let .array(items): return "[" + items.map { pythonText($0, nested: true) }.joined(separator: ", ") + "]"
        case let .object(members): return "{" + members.map { "'\($0.key)': \(pythonText($0.value, nested: true))" }.joined(separator: ", ") + "}"
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
            let looksLikeName =
                !inner.isEmpty && inner.count <= 64
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
