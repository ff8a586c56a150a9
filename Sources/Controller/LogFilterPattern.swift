import ECSModel
import Foundation

/// A CloudWatch Logs filter pattern, as FilterLogEvents takes it (and `logs --filter`):
///
/// - `""`: every event.
/// - Terms, case-sensitive, each anywhere in the message: `ERROR timeout` (both),
///   `"status=500"` (a quoted phrase), `-DEBUG` (not this one), `?ERROR ?WARN` (any of these).
///   A term that is not quoted may hold only letters, digits and underscores; anything else
///   is refused as CloudWatch refuses it: `Invalid character(s) in term ':'`.
/// - `%regex%`: a regular expression found anywhere in the message.
/// - JSON: `{ $.level = "error" && ($.latency > 500 || $.retries >= 3) }`, with `=`/`!=` on
///   strings (`*` is a wildcard) and numbers, `<`, `<=`, `>`, `>=` on numbers, `%regex%`
///   values, `IS TRUE`, `IS FALSE`, `IS NULL` and `NOT EXISTS`; selectors such as
///   `$.request.path` and `$.items[0].id`. A message that is not JSON never matches.
/// - Space-delimited: `[ip, user, ..., status = 5*, bytes > 1000]` names the message's
///   space-separated fields (text in `"…"` or `[…]` is one field; `...` is any number of
///   them) and tests some of them.
public struct LogFilterPattern: Sendable {
    /// Why a pattern was refused; FilterLogEvents answers InvalidParameterException with it.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private let matcher: Matcher

    /// Parses `text`, refusing what CloudWatch would refuse.
    public init(_ text: String) throws(SyntaxError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty {
            matcher = .everything
        } else if trimmed.hasPrefix("{") {
            var parser = JSONPatternParser(trimmed)
            matcher = .json(try parser.parse())
        } else if trimmed.hasPrefix("[") {
            var parser = DelimitedPatternParser(trimmed)
            matcher = .delimited(try parser.parse())
        } else if trimmed.count >= 2, trimmed.hasPrefix("%"), trimmed.hasSuffix("%") {
            matcher = .regex(try FilterRegex(String(trimmed.dropFirst().dropLast())))
        } else {
            matcher = .terms(try TermsPattern(trimmed))
        }
    }

    /// Whether the event `message` matches.
    public func matches(_ message: String) -> Bool {
        switch matcher {
        case .everything: return true
        case let .terms(terms): return terms.matches(message)
        case let .regex(regex): return regex.matches(message)
        case let .json(expression):
            guard let document = try? JSONParser.parse(Array(message.utf8)) else { return false }
            return expression.evaluate { $0.resolve(in: document) }
        case let .delimited(pattern): return pattern.matches(message)
        }
    }

    private enum Matcher: Sendable {
        case everything
        case terms(TermsPattern)
        case regex(FilterRegex)
        case json(Expression)
        case delimited(DelimitedPattern)
    }
}

// MARK: - Terms

/// `ERROR "two words" -DEBUG ?WARN`: every plain term, none of the `-` terms, and one of
/// the `?` terms when there are any.
private struct TermsPattern: Sendable {
    var required: [String] = []
    var excluded: [String] = []
    var anyOf: [String] = []

    init(_ text: String) throws(LogFilterPattern.SyntaxError) {
        var chars = Array(text)[...]
        while true {
            while chars.first?.isWhitespace == true { chars.removeFirst() }
            guard let first = chars.first else { break }
            var kind: Character = " "
            if first == "-" || first == "?" {
                kind = first
                chars.removeFirst()
            }
            var term = ""
            if chars.first == "\"" {
                chars.removeFirst()
                var closed = false
                while let c = chars.popFirst() {
                    if c == "\\", let next = chars.first, next == "\"" || next == "\\" {
                        term.append(next)
                        chars.removeFirst()
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        term.append(c)
                    }
                }
                guard closed else { throw .init("Unterminated quoted term in filter pattern: \(text)") }
            } else {
                while let c = chars.first, !c.isWhitespace {
                    guard c.isTermCharacter else {
                        let run = chars.prefix { !$0.isWhitespace && !$0.isTermCharacter }
                        throw .init("Invalid character(s) in term '\(String(run))'")
                    }
                    term.append(c)
                    chars.removeFirst()
                }
            }
            if term.isEmpty { continue }
            switch kind {
            case "-": excluded.append(term)
            case "?": anyOf.append(term)
            default: required.append(term)
            }
        }
    }

    func matches(_ message: String) -> Bool {
        required.allSatisfy { message.contains($0) }
            && !excluded.contains { message.contains($0) }
            && (anyOf.isEmpty || anyOf.contains { message.contains($0) })
    }
}

extension Character {
    /// What an unquoted term may hold: letters, digits and underscores.
    fileprivate var isTermCharacter: Bool { isLetter || isNumber || self == "_" }
}

// MARK: - Regular expressions

/// `%…%`: CloudWatch's regular expressions, which have no groups and few symbols.
private struct FilterRegex: @unchecked Sendable {
    // NSRegularExpression is immutable and documented as safe to share between threads.
    let regex: NSRegularExpression

    init(_ pattern: String) throws(LogFilterPattern.SyntaxError) {
        if pattern.isEmpty { throw .init("Empty regular expression in filter pattern") }
        // What CloudWatch allows in one: letters, digits, the symbols :_#=@/;,- and the
        // operators ^$?[]{}|\*+. (no groups, no spaces).
        if let bad = pattern.first(where: { !(($0.isASCII && ($0.isLetter || $0.isNumber)) || ":_#=@/;,-^$?[]{}|\\*+.".contains($0)) }) {
            throw .init("Invalid character(s) in term '\(bad)'\(bad == "(" || bad == ")" ? ": filter pattern regular expressions have no groups" : "")")
        }
        do {
            regex = try NSRegularExpression(pattern: pattern)
        } catch {
            throw .init("Invalid regular expression in filter pattern: %\(pattern)%")
        }
    }

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

// MARK: - Values and comparisons (JSON and space-delimited patterns)

/// The right-hand side of a comparison.
private enum PatternValue: Sendable {
    /// Written without quotes: also a number when it reads as one, or `true`/`false`/`null`.
    case bare(String)
    case quoted(String)
    case regex(FilterRegex)

    var number: Double? {
        if case let .bare(text) = self { return Double(text) }
        return nil
    }
}

private enum ComparisonOperator: String, Sendable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// What a selector found in an event: a JSON value, a space-delimited field's text, or nothing.
private enum FieldValue {
    case json(JSONValue)
    case text(String)
    case missing
}

/// One test on one field.
private struct Comparison: Sendable {
    enum Test: Sendable {
        case compare(ComparisonOperator, PatternValue)
        case isTrue, isFalse, isNull, notExists
    }

    let field: FieldSelector
    let test: Test

    func evaluate(_ value: FieldValue) -> Bool {
        switch (test, value) {
        case (.notExists, .missing): return true
        case (.notExists, _), (_, .missing): return false
        case (.isTrue, .json(.bool(true))), (.isFalse, .json(.bool(false))), (.isNull, .json(.null)): return true
        case (.isTrue, _), (.isFalse, _), (.isNull, _): return false
        case let (.compare(op, expected), .json(actual)): return Self.compare(actual, op, expected)
        case let (.compare(op, expected), .text(actual)):
            // A delimited field is a number when it reads as one.
            let field: JSONValue = Double(actual) != nil ? .number(actual) : .string(actual)
            return Self.compare(field, op, expected)
        }
    }

    private static func compare(_ actual: JSONValue, _ op: ComparisonOperator, _ expected: PatternValue) -> Bool {
        let equal: Bool
        switch (actual, expected) {
        case let (.number(text), _) where expected.number != nil:
            guard let a = Double(text), let b = expected.number else { return false }
            switch op {
            case .equal: return a == b
            case .notEqual: return a != b
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            case .greaterOrEqual: return a >= b
            }
        case (_, _) where ![.equal, .notEqual].contains(op):
            return false
        case let (.string(s), .regex(regex)), let (.number(s), .regex(regex)):
            equal = regex.matches(s)
        case let (.string(s), .quoted(pattern)), let (.string(s), .bare(pattern)), let (.number(s), .quoted(pattern)), let (.number(s), .bare(pattern)):
            equal = wildcardMatch(s, pattern)
        case let (.bool(b), .bare(word)) where word == "true" || word == "false":
            equal = b == (word == "true")
        case (.null, .bare("null")):
            equal = true
        default:
            // An object, an array or a mismatched literal equals nothing.
            return false
        }
        return op == .equal ? equal : !equal
    }

    /// `*` stands for any run of characters; everything else is literal.
    static func wildcardMatch(_ text: String, _ pattern: String) -> Bool {
        guard pattern.contains("*") else { return text == pattern }
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        var rest = Substring(text)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for (index, part) in parts.enumerated().dropFirst() {
            if index == parts.count - 1 {
                return rest.hasSuffix(part)
            }
            guard !part.isEmpty else { continue }
            guard let found = rest.range(of: part) else { return false }
            rest = rest[found.upperBound...]
        }
        return true
    }
}

/// `$.a.b[0]` (JSON) or a space-delimited field's name.
private enum FieldSelector: Sendable {
    enum Step: Sendable {
        case member(String)
        case index(Int)
    }
    case json([Step])
    case named(String)

    func resolve(in document: JSONValue) -> FieldValue {
        guard case let .json(steps) = self else { return .missing }
        var current = document
        for step in steps {
            switch step {
            case let .member(name):
                guard let next = current[name] else { return .missing }
                current = next
            case let .index(i):
                guard let array = current.arrayValue, array.indices.contains(i) else { return .missing }
                current = array[i]
            }
        }
        return .json(current)
    }
}

/// Comparisons joined with `&&` and `||` (`&&` binds tighter), grouped with parentheses.
private indirect enum Expression: Sendable {
    case comparison(Comparison)
    case and(Expression, Expression)
    case or(Expression, Expression)

    func evaluate(_ lookup: (FieldSelector) -> FieldValue) -> Bool {
        switch self {
        case let .comparison(c): c.evaluate(lookup(c.field))
        case let .and(a, b): a.evaluate(lookup) && b.evaluate(lookup)
        case let .or(a, b): a.evaluate(lookup) || b.evaluate(lookup)
        }
    }

    /// The field names a space-delimited condition refers to.
    var fieldNames: [String] {
        switch self {
        case let .comparison(c): if case let .named(name) = c.field { [name] } else { [] }
        case let .and(a, b), let .or(a, b): a.fieldNames + b.fieldNames
        }
    }
}

/// The shared reader of JSON and space-delimited patterns: a cursor over the characters.
private struct PatternScanner {
    let text: String
    var chars: ArraySlice<Character>

    init(_ text: String) {
        self.text = text
        chars = Array(text)[...]
    }

    mutating func skipSpaces() { while chars.first?.isWhitespace == true { chars.removeFirst() } }

    mutating func take(_ token: String) -> Bool {
        skipSpaces()
        guard chars.starts(with: token) else { return false }
        chars.removeFirst(token.count)
        return true
    }

    /// `IS`, `NOT`, … : a word, when the next word is exactly it.
    mutating func takeWord(_ word: String) -> Bool {
        skipSpaces()
        guard chars.starts(with: word) else { return false }
        let after = chars.dropFirst(word.count).first
        if let after, after.isLetter || after.isNumber || after == "_" { return false }
        chars.removeFirst(word.count)
        return true
    }

    func error(_ what: String) -> LogFilterPattern.SyntaxError {
        let at = chars.isEmpty ? "the end" : "'\(String(chars.prefix(20)))'"
        return .init("Invalid filter pattern \(text): \(what) at \(at)")
    }

    mutating func comparisonOperator() -> ComparisonOperator? {
        for op in ["!=", "<=", ">=", "=", "<", ">"] where take(op) { return ComparisonOperator(rawValue: op) }
        return nil
    }

    /// A quoted string, a `%regex%` or a bare word (up to a space, `)`, `&&`, `||`, `,`, `]` or `}`).
    mutating func value() throws(LogFilterPattern.SyntaxError) -> PatternValue {
        skipSpaces()
        if chars.first == "\"" {
            chars.removeFirst()
            var out = ""
            while let c = chars.popFirst() {
                if c == "\\", let next = chars.first, next == "\"" || next == "\\" {
                    out.append(next)
                    chars.removeFirst()
                } else if c == "\"" {
                    return .quoted(out)
                } else {
                    out.append(c)
                }
            }
            throw error("an unterminated string")
        }
        if chars.first == "%" {
            chars.removeFirst()
            guard let end = chars.firstIndex(of: "%") else { throw error("an unterminated regular expression") }
            let pattern = String(chars[chars.startIndex..<end])
            chars = chars[(end + 1)...]
            return .regex(try FilterRegex(pattern))
        }
        var out = ""
        while let c = chars.first, !c.isWhitespace, !")]},".contains(c), !chars.starts(with: "&&"), !chars.starts(with: "||") {
            out.append(c)
            chars.removeFirst()
        }
        guard !out.isEmpty else { throw error("a value was expected") }
        return .bare(out)
    }

    /// After a selector: `OP value`, `IS TRUE|FALSE|NULL` or `NOT EXISTS`.
    mutating func test() throws(LogFilterPattern.SyntaxError) -> Comparison.Test {
        if takeWord("IS") {
            if takeWord("TRUE") { return .isTrue }
            if takeWord("FALSE") { return .isFalse }
            if takeWord("NULL") { return .isNull }
            throw error("TRUE, FALSE or NULL was expected after IS")
        }
        if takeWord("NOT") {
            guard takeWord("EXISTS") else { throw error("EXISTS was expected after NOT") }
            return .notExists
        }
        guard let op = comparisonOperator() else { throw error("a comparison (=, !=, <, <=, >, >=, IS or NOT EXISTS) was expected") }
        let value = try value()
        if ![.equal, .notEqual].contains(op), value.number == nil {
            throw error("\(op.rawValue) compares numbers only")
        }
        return .compare(op, value)
    }

    /// `a || b`, `a && b`, `(a)`, with `comparison` reading one test.
    mutating func expression(_ comparison: (inout PatternScanner) throws(LogFilterPattern.SyntaxError) -> Comparison) throws(LogFilterPattern.SyntaxError)
        -> Expression
    {
        var left = try conjunction(comparison)
        while take("||") { left = .or(left, try conjunction(comparison)) }
        return left
    }

    private mutating func conjunction(_ comparison: (inout PatternScanner) throws(LogFilterPattern.SyntaxError) -> Comparison) throws(LogFilterPattern
        .SyntaxError) -> Expression
    {
        var left = try primary(comparison)
        while take("&&") { left = .and(left, try primary(comparison)) }
        return left
    }

    private mutating func primary(_ comparison: (inout PatternScanner) throws(LogFilterPattern.SyntaxError) -> Comparison) throws(LogFilterPattern.SyntaxError)
        -> Expression
    {
        if take("(") {
            let inner = try expression(comparison)
            guard take(")") else { throw error("')' was expected") }
            return inner
        }
        return .comparison(try comparison(&self))
    }
}

// MARK: - JSON patterns

private struct JSONPatternParser {
    var scanner: PatternScanner

    init(_ text: String) { scanner = PatternScanner(text) }

    mutating func parse() throws(LogFilterPattern.SyntaxError) -> Expression {
        _ = scanner.take("{")
        let expression = try scanner.expression { (s: inout PatternScanner) throws(LogFilterPattern.SyntaxError) in
            Comparison(field: try Self.selector(&s), test: try s.test())
        }
        guard scanner.take("}") else { throw scanner.error("'}' was expected") }
        scanner.skipSpaces()
        guard scanner.chars.isEmpty else { throw scanner.error("nothing was expected after '}'") }
        return expression
    }

    /// `$`, then `.name` and `[index]` steps; names hold letters, digits, `_`, `-` and `@`.
    static func selector(_ s: inout PatternScanner) throws(LogFilterPattern.SyntaxError) -> FieldSelector {
        s.skipSpaces()
        guard s.chars.first == "$" else { throw s.error("a selector such as $.field was expected") }
        s.chars.removeFirst()
        var steps: [FieldSelector.Step] = []
        while let c = s.chars.first, c == "." || c == "[" {
            s.chars.removeFirst()
            if c == "." {
                let name = s.chars.prefix { $0.isLetter || $0.isNumber || "_-@".contains($0) }
                guard !name.isEmpty else {
                    let run = s.chars.prefix { !$0.isWhitespace }.prefix(1)
                    throw .init("Invalid character(s) in term '$.\(String(run))'")
                }
                s.chars.removeFirst(name.count)
                steps.append(.member(String(name)))
            } else {
                let digits = s.chars.prefix { $0.isNumber }
                guard let index = Int(String(digits)), s.chars.dropFirst(digits.count).first == "]" else {
                    throw s.error("an array index such as [0] was expected")
                }
                s.chars.removeFirst(digits.count + 1)
                steps.append(.index(index))
            }
        }
        guard !steps.isEmpty else { throw s.error("a selector such as $.field was expected") }
        return .json(steps)
    }
}

// MARK: - Space-delimited patterns

/// `[name, name = value, ..., name > 5 && name < 9]`.
private struct DelimitedPattern: Sendable {
    enum Field: Sendable {
        case named(String, Expression?)
        case ellipsis
    }

    let fields: [Field]

    func matches(_ message: String) -> Bool {
        let tokens = Self.split(message)
        var bound: [String: String] = [:]
        guard bind(fields[...], tokens[...], &bound) else { return false }
        for case let .named(_, condition?) in fields {
            let ok = condition.evaluate { selector in
                guard case let .named(name) = selector, let text = bound[name] else { return .missing }
                return .text(text)
            }
            if !ok { return false }
        }
        return true
    }

    /// Assigns tokens to fields; `...` takes any number of them (the first fit wins).
    private func bind(_ fields: ArraySlice<Field>, _ tokens: ArraySlice<String>, _ bound: inout [String: String]) -> Bool {
        guard let field = fields.first else { return tokens.isEmpty }
        switch field {
        case let .named(name, _):
            guard let token = tokens.first else { return false }
            bound[name] = token
            return bind(fields.dropFirst(), tokens.dropFirst(), &bound)
        case .ellipsis:
            for skip in 0...tokens.count {
                var attempt = bound
                if bind(fields.dropFirst(), tokens.dropFirst(skip), &attempt) {
                    bound = attempt
                    return true
                }
            }
            return false
        }
    }

    /// The message's fields: split at spaces, with `"…"` and `[…]` each one field (without
    /// their quotes or brackets).
    static func split(_ message: String) -> [String] {
        var out: [String] = []
        var chars = Array(message)[...]
        while true {
            while chars.first?.isWhitespace == true { chars.removeFirst() }
            guard let first = chars.first else { return out }
            if let close: Character = first == "\"" ? "\"" : first == "[" ? "]" : nil,
                let end = chars.dropFirst().firstIndex(of: close)
            {
                out.append(String(chars[(chars.startIndex + 1)..<end]))
                chars = chars[(end + 1)...]
            } else {
                let token = chars.prefix { !$0.isWhitespace }
                out.append(String(token))
                chars.removeFirst(token.count)
            }
        }
    }
}

private struct DelimitedPatternParser {
    var scanner: PatternScanner

    init(_ text: String) { scanner = PatternScanner(text) }

    mutating func parse() throws(LogFilterPattern.SyntaxError) -> DelimitedPattern {
        _ = scanner.take("[")
        var fields: [DelimitedPattern.Field] = []
        var names: Set<String> = []
        repeat {
            if scanner.take("...") {
                fields.append(.ellipsis)
                continue
            }
            let name = try Self.name(&scanner)
            guard names.insert(name).inserted else { throw scanner.error("field \(name) is named twice") }
            scanner.skipSpaces()
            if let c = scanner.chars.first, c != ",", c != "]" {
                // The condition starts with this field's name again: `status = 5* || status = 4*`.
                scanner.chars = Array(name)[...] + scanner.chars
                let condition = try scanner.expression { (s: inout PatternScanner) throws(LogFilterPattern.SyntaxError) in
                    Comparison(field: .named(try Self.name(&s)), test: try s.test())
                }
                fields.append(.named(name, condition))
            } else {
                fields.append(.named(name, nil))
            }
        } while scanner.take(",")
        guard scanner.take("]") else { throw scanner.error("',' or ']' was expected") }
        scanner.skipSpaces()
        guard scanner.chars.isEmpty else { throw scanner.error("nothing was expected after ']'") }
        for case let .named(_, condition?) in fields {
            if let unknown = condition.fieldNames.first(where: { !names.contains($0) }) {
                throw scanner.error("a condition names \(unknown), which is not a field")
            }
        }
        guard !fields.isEmpty else { throw scanner.error("a field was expected") }
        return DelimitedPattern(fields: fields)
    }

    static func name(_ s: inout PatternScanner) throws(LogFilterPattern.SyntaxError) -> String {
        s.skipSpaces()
        let name = s.chars.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        guard !name.isEmpty else { throw s.error("a field name was expected") }
        s.chars.removeFirst(name.count)
        return String(name)
    }
}
