import ECSModel
import Testing

struct JSONParserTests {
    @Test func typedAccessorsReadOnlyTheirOwnKind() throws {
        let v = try JSONParser.parse(#"{"n": 137, "f": 2.5, "big": 1e400, "a": [1, "x"], "s": "7"}"#)
        #expect(v["n"]?.intValue == 137 && v["n"]?.doubleValue == 137)
        #expect(v["f"]?.doubleValue == 2.5 && v["f"]?.intValue == nil)
        #expect(v["s"]?.intValue == nil && v["s"]?.arrayValue == nil)
        #expect(v["a"]?.arrayValue?.count == 2 && v["a"]?.doubleValue == nil)
        #expect(v["big"]?.intValue == nil)
    }

    @Test func parsesNestedDocumentsKeepingKeyOrder() throws {
        let v = try JSONParser.parse(#"{"b": [1, 2.5, -3e2, true, null], "a": {"s": "x\"y\u00e9\n"}}"#)
        #expect(v.objectMembers?.map(\.key) == ["b", "a"])
        #expect(v["b"] == .array([.number("1"), .number("2.5"), .number("-3e2"), .bool(true), .null]))
        #expect(v["a"]?["s"] == .string("x\"yé\n"))
    }

    @Test func roundTripsThroughSerialisation() throws {
        let text = #"{"k":["a",{"n":1}],"e":"tab\there","u":"\u0001"}"#
        let v = try JSONParser.parse(text)
        #expect(try JSONParser.parse(v.serialized()) == v)
        #expect(try JSONParser.parse(v.serialized(pretty: true)) == v)
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: [
        ("{\n  \"a\": 1,\n}", 3, 1, "trailing comma"),
        ("{\"a\" 1}", 1, 6, "':' was expected"),
        ("[1, 2", 1, 6, "']' missing"),
        ("", 1, 1, "empty"),
        ("{\"a\": tru}", 1, 7, "a value was expected"),
        ("{\"a\": \"x\ny\"}", 1, 9, "line break inside a string"),
        ("{} {}", 1, 4, "after the end"),
        ("{\"a\": 01}", 1, 8, "',' or '}' was expected"),
    ])
    func reportsLineAndColumn(text: String, line: Int, column: Int, reason: String) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("expected a syntax error for \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.column == column, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test func rejectsAbsurdNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(deep) }
    }
}
