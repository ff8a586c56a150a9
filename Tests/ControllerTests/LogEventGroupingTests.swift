import ECSModel
import ShimCore
import Testing

@testable import Controller

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

    @Test func eventsKeepToCloudWatchsSizeLimitAsTheDriverKeepsThem() {
        let limit = LogEventGrouping.maximumEventBytes
        #expect(limit == 262_118 && LineAssembler.maxLineBytes == limit)
        let grouping = LogEventGrouping(startPattern: "^START", closed: true)
        let half = String(repeating: "a", count: limit / 2)
        // START\n + half\n fits; another half would not: it begins the next event.
        let events = grouping.group(lines([(1, "START"), (2, half), (3, half)]), now: 4)
        #expect(events.map(\.message.utf8.count) == [6 + half.utf8.count + 1, half.utf8.count + 1])
        #expect(events.map(\.timestamp) == [1, 3])
        // A line of the limit's size gets no newline.
        let full = String(repeating: "b", count: limit)
        #expect(grouping.group(lines([(1, full)]), now: 2).map(\.message) == [full])
        // A longer event is cut between characters, never inside one.
        let wide = LogEvent(timestamp: 7, message: String(repeating: "é", count: limit / 2 + 10))
        let pieces = LogEventGrouping.splitToEventSize(wide)
        #expect(pieces.map(\.message.utf8.count) == [limit, 2 * (limit / 2 + 10) - limit])
        #expect(pieces.allSatisfy { $0.timestamp == 7 && $0.message.allSatisfy { $0 == "é" } })
        #expect(LogEventGrouping.splitToEventSize(LogEvent(timestamp: 1, message: "short")) == [LogEvent(timestamp: 1, message: "short")])
    }

    @Test func aDatetimeFormatBecomesAnAnchoredPattern() {
        let pattern = AwslogsMultiline.startPattern(options: ["awslogs-datetime-format": "%Y-%m-%dT%H:%M:%S", "awslogs-multiline-pattern": "ignored"])
        #expect(pattern == "^\\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[1,2][0-9]|3[0,1])T(?:[0,1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
        #expect(AwslogsMultiline.startPattern(options: ["awslogs-multiline-pattern": "^INFO"]) == "^INFO")
        #expect(AwslogsMultiline.startPattern(options: ["awslogs-group": "g"]) == nil)
        #expect(AwslogsMultiline.problem(in: "([unclosed") != nil && AwslogsMultiline.problem(in: "^\\d+") == nil)
    }
}
