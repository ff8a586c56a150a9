@testable import Controller
import ECSModel
import Testing

/// awslogs multi-line events, grouped from a stream's lines as the awslogs driver groups them.
struct LogEventGroupingTests {
    func lines(_ pairs: [(Int64, String)]) -> [LogEvent] { pairs.map { LogEvent(timestamp: $0.0, message: $0.1) } }

    @Test func continuationLinesJoinTheEventTheyFollow() {
        let grouping = LogEventGrouping(startPattern: "^\\d{4}-", closed: true)
        let events = grouping.group(lines([(1, "preamble"), (2, "2026-11-27 boom"), (3, "  at one"), (4, "  at two"), (5, "2026-11-27 done")]), now: 6)
        #expect(events == lines([(1, "preamble\n"), (2, "2026-11-27 boom\n  at one\n  at two\n"), (5, "2026-11-27 done\n")]))
    }

    @Test func anOpenEventIsGivenOnlyOnceComplete() {
        let open = LogEventGrouping(startPattern: "^START", closed: false)
        let stream = lines([(1_000, "START a"), (1_100, "more"), (2_000, "START b"), (2_100, "tail")])
        // The last event may still grow: held back until its stream closes or 5 s have passed.
        #expect(open.group(stream, now: 3_000) == lines([(1_000, "START a\nmore\n")]))
        #expect(open.group(stream, now: 7_000) == lines([(1_000, "START a\nmore\n"), (2_000, "START b\ntail\n")]))
        #expect(LogEventGrouping(startPattern: "^START", closed: true).group(stream, now: 3_000).count == 2)
        // A line 5 s or more after its event began starts one of its own (the driver had flushed).
        let late = open.group(lines([(0, "START a"), (5_000, "late"), (5_001, "START b")]), now: 20_000)
        #expect(late == lines([(0, "START a\n"), (5_000, "late\n"), (5_001, "START b\n")]))
    }

    @Test func aDatetimeFormatBecomesAnAnchoredPattern() {
        let pattern = AwslogsMultiline.startPattern(options: ["awslogs-datetime-format": "%Y-%m-%dT%H:%M:%S", "awslogs-multiline-pattern": "ignored"])
        #expect(pattern == "^\\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[1,2][0-9]|3[0,1])T(?:[0,1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
        #expect(AwslogsMultiline.startPattern(options: ["awslogs-multiline-pattern": "^INFO"]) == "^INFO")
        #expect(AwslogsMultiline.startPattern(options: ["awslogs-group": "g"]) == nil)
        #expect(AwslogsMultiline.problem(in: "([unclosed") != nil && AwslogsMultiline.problem(in: "^\\d+") == nil)
    }
}
