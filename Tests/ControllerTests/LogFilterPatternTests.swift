import Testing

@testable import Controller

/// CloudWatch Logs filter patterns (FilterLogEvents, `logs --filter`), from AWS's documented
/// examples and its error for unquoted terms.
struct LogFilterPatternTests {
    func matching(_ pattern: String, _ messages: [String]) throws -> [String] {
        let p = try LogFilterPattern(pattern)
        return messages.filter { p.matches($0) }
    }

    let lines = [
        "[ERROR 400] BAD REQUEST",
        "[ERROR 401] UNAUTHORIZED REQUEST",
        "[WARN 419] EXPIRED REQUEST",
        "[SUCCESS 200] AUTHORIZED REQUEST",
        "status=500 in handler",
    ]

    @Test func termsAreAllRequiredCaseSensitiveAndSubstrings() throws {
        #expect(try matching("", lines) == lines)
        #expect(try matching("ERROR", lines) == [lines[0], lines[1]])
        #expect(try matching("ERROR UNAUTHORIZED", lines) == [lines[1]])
        #expect(try matching("error", lines) == [])
        #expect(try matching("AUTHORIZED", lines) == [lines[1], lines[3]])
    }

    @Test func orTermsExclusionsAndQuotedPhrases() throws {
        #expect(try matching("?WARN ?SUCCESS", lines) == [lines[2], lines[3]])
        #expect(try matching("REQUEST -ERROR", lines) == [lines[2], lines[3]])
        #expect(try matching("\"BAD REQUEST\"", lines) == [lines[0]])
        #expect(try matching("\"status=500\"", lines) == [lines[4]])
        #expect(try matching("?\"EXPIRED REQUEST\" ?\"BAD REQUEST\"", lines) == [lines[0], lines[2]])
        #expect(try matching("REQUEST -\"ERROR 401\"", lines) == [lines[0], lines[2], lines[3]])
    }

    @Test func unquotedTermsWithOtherCharactersAreRefusedAsCloudWatchRefusesThem() {
        for (pattern, reported) in [("status=500", "="), ("Frame.two", "."), ("?Status: timeout", ":"), ("(foo", "(")] {
            #expect(throws: LogFilterPattern.SyntaxError.self) { try LogFilterPattern(pattern) }
            do {
                _ = try LogFilterPattern(pattern)
            } catch {
                #expect(error.description == "Invalid character(s) in term '\(reported)'", "\(pattern)")
            }
        }
        #expect(throws: LogFilterPattern.SyntaxError.self) { try LogFilterPattern("\"unterminated") }
    }

    @Test func regularExpressions() throws {
        #expect(try matching("%AUTHORIZED%", lines) == [lines[1], lines[3]])
        #expect(try matching("%^\\[ERROR.40[01]\\]%", lines) == [lines[0], lines[1]])
        #expect(try matching("%WARN|SUCCESS%", lines) == [lines[2], lines[3]])
        #expect(throws: LogFilterPattern.SyntaxError.self) { try LogFilterPattern("%(ERROR|WARN)%") }
        #expect(throws: LogFilterPattern.SyntaxError.self) { try LogFilterPattern("%something!%") }
        #expect(throws: LogFilterPattern.SyntaxError.self) { try LogFilterPattern("%two words%") }
    }

    @Test func jsonPatterns() throws {
        let events = [
            #"{"level":"error","latency":812,"user":{"id":"u-1","admin":true},"items":[{"id":7}],"code":null}"#,
            #"{"level":"info","latency":45,"user":{"id":"u-2","admin":false},"items":[]}"#,
            #"{"level":"error","latency":12.5,"path":"/api/v1/orders"}"#,
            "not json at all",
        ]
        #expect(try matching(#"{ $.level = "error" }"#, events) == [events[0], events[2]])
        #expect(try matching("{ $.level = error }", events) == [events[0], events[2]])
        #expect(try matching(#"{ $.level != "error" }"#, events) == [events[1]])
        #expect(try matching("{ $.latency > 50 }", events) == [events[0]])
        #expect(try matching("{ $.latency <= 45 }", events) == [events[1], events[2]])
        #expect(try matching("{ $.latency = 12.5 }", events) == [events[2]])
        #expect(try matching(#"{ $.level = "error" && $.latency < 100 }"#, events) == [events[2]])
        #expect(try matching(#"{ ($.level = "info") || ($.latency > 800 && $.user.admin IS TRUE) }"#, events) == [events[0], events[1]])
        #expect(try matching("{ $.user.admin IS FALSE }", events) == [events[1]])
        #expect(try matching("{ $.code IS NULL }", events) == [events[0]])
        #expect(try matching("{ $.user NOT EXISTS }", events) == [events[2]])
        #expect(try matching("{ $.items[0].id = 7 }", events) == [events[0]])
        #expect(try matching(#"{ $.user.id = "u-*" }"#, events) == [events[0], events[1]])
        #expect(try matching(#"{ $.path = "*/orders" }"#, events) == [events[2]])
        #expect(try matching("{ $.path = %v[0-9]/% }", events) == [events[2]])
        #expect(try matching(#"{ $.missing != "x" }"#, events) == [])
    }

    @Test func badJSONPatternsSayWhatIsWrong() {
        for pattern in [#"{ $.level = "error" "#, "{ level = 1 }", #"{ $.a > "x" }"#, "{ $.a IS MAYBE }", #"{ $."sc-status" = 5* }"#, "{ $.a = 1 ) }"] {
            #expect(throws: LogFilterPattern.SyntaxError.self, "\(pattern)") { try LogFilterPattern(pattern) }
        }
        do {
            _ = try LogFilterPattern(#"{ $."sc-status" = 5* }"#)
        } catch {
            #expect(error.description == "Invalid character(s) in term '$.\"'")
        }
    }

    @Test func spaceDelimitedPatterns() throws {
        let access = [
            #"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 2326"#,
            #"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /index.html HTTP/1.0" 200 1534"#,
            #"10.0.0.9 - - [10/Oct/2000:13:40:01 -0700] "POST /login HTTP/1.0" 500 17"#,
        ]
        #expect(try matching("[ip, user, username, timestamp, request, status_code, bytes]", access) == access)
        #expect(try matching("[ip, user, username, timestamp, request, status_code = 404, bytes]", access) == [access[0]])
        #expect(try matching(#"[ip, user, username, timestamp, request = "*html*", status_code, bytes]"#, access) == [access[1]])
        #expect(try matching("[..., status_code = 4* || status_code = 5*, bytes]", access) == [access[0], access[2]])
        #expect(try matching("[ip, ..., bytes > 2000]", access) == [access[0]])
        #expect(try matching("[ip = 10.*, ...]", access) == [access[2]])
        #expect(try matching("[ip, user]", access) == [])
        #expect(throws: LogFilterPattern.SyntaxError.self) { try LogFilterPattern("[ip, ip]") }
        #expect(throws: LogFilterPattern.SyntaxError.self) { try LogFilterPattern("[ip = 1 || other = 2]") }
    }
}
