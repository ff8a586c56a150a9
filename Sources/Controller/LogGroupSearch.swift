import Foundation

/// FilterLogEvents over a group's streams, a page at a time: the streams' matching events
/// merged by (timestamp, stream, event index), read in chunks as the merge consumes them.
/// A page records where each stream stopped, so the next page reads on from there: paging
/// through a large group reads it once, not once a page.
public enum LogGroupSearch {
    /// Where a stream's search goes on: `skip` events after `line`, the position of a line
    /// start in the stream's file. (A line longer than an event is several events, so a page
    /// can end inside one.)
    public struct Resume: Sendable, Equatable {
        public var line: LogStore.ReadPosition
        public var skip: Int

        public init(line: LogStore.ReadPosition = LogStore.ReadPosition(), skip: Int = 0) {
            self.line = line
            self.skip = skip
        }
    }

    /// A matching event, its stream and its index in the stream.
    public struct Match: Sendable {
        public var event: LogEvent
        public var stream: String
        public var index: Int
    }

    /// One page of matches, in time order, and where the search goes on from.
    public struct Page: Sendable {
        public var matches: [Match]
        /// Where the streams that may hold more matches go on; nil when none does.
        public var resume: [String: Resume]?
    }

    /// The first `limit` matches of `streams` (of `group`), each from its `from` point (its
    /// start when `from` is nil; a stream `from` does not name is finished), whose time is in
    /// `start...end` and whose message matches `pattern`.
    public static func page(
        _ store: LogStore, group: String, streams: [String], from: [String: Resume]?,
        start: Int64?, end: Int64?, pattern: LogFilterPattern, limit: Int
    ) -> Page {
        var cursors: [Cursor] = streams.compactMap { stream in
            if let from {
                return from[stream].map { Cursor(store, LogStreamName(group: group, stream: stream), from: $0, limit: limit) }
            }
            // A first page from a time on starts each stream at that time (found without
            // reading what comes before it).
            let name = LogStreamName(group: group, stream: stream)
            let at = start.flatMap { store.position(of: name, atOrAfter: $0) }
            return Cursor(store, name, from: Resume(line: at ?? LogStore.ReadPosition()), limit: limit)
        }
        func matches(_ e: LogEvent) -> Bool {
            (start.map { e.timestamp >= $0 } ?? true) && (end.map { e.timestamp <= $0 } ?? true) && pattern.matches(e.message)
        }
        var out: [Match] = []
        while out.count < limit {
            var best: (cursor: Int, event: LogEvent, index: Int)?
            for i in cursors.indices {
                guard let (event, index) = cursors[i].nextMatch(where: matches) else { continue }
                if let b = best, (b.event.timestamp, cursors[b.cursor].name.stream, b.index) <= (event.timestamp, cursors[i].name.stream, index) { continue }
                best = (i, event, index)
            }
            guard let best else { return Page(matches: out, resume: nil) }
            out.append(Match(event: best.event, stream: cursors[best.cursor].name.stream, index: best.index))
            cursors[best.cursor].consume()
        }
        var resume: [String: Resume] = [:]
        for i in cursors.indices where cursors[i].nextMatch(where: matches) != nil {
            resume[cursors[i].name.stream] = cursors[i].resume
        }
        return Page(matches: out, resume: resume.isEmpty ? nil : resume)
    }

    /// One stream, read a chunk at a time (first 4-64 KiB, by the page's size, then 1 MiB); a stream grouped into multi-line events
    /// is read whole (its grouping needs every line).
    private struct Cursor {
        let store: LogStore
        let name: LogStreamName
        let grouped: Bool
        /// Where `buffer` was read from, and where the read after it ends.
        var chunkStart: LogStore.ReadPosition
        var after: LogStore.ReadPosition
        var buffer: [LogEvent] = []
        var lineStarts: [UInt64?] = []
        /// The next event in `buffer`, and how many to pass over once it is read.
        var next = 0
        var pendingSkip: Int
        var exhausted = false
        var chunksRead = 0

        /// The page's size, which sizes the first read.
        let limit: Int

        init(_ store: LogStore, _ name: LogStreamName, from: Resume, limit: Int) {
            self.limit = limit
            self.store = store
            self.name = name
            grouped = LogEventGrouping.read(from: LogStore.groupingURL(of: store.fileURL(for: name))) != nil
            chunkStart = from.line
            after = chunkStart
            pendingSkip = from.skip
        }

        /// The next unconsumed event that passes `test`, with its index in the stream;
        /// events that do not pass are consumed.
        mutating func nextMatch(where test: (LogEvent) -> Bool) -> (LogEvent, Int)? {
            while true {
                guard fill() else { return nil }
                if test(buffer[next]) { return (buffer[next], chunkStart.eventCount + next) }
                next += 1
            }
        }

        mutating func consume() { next += 1 }

        /// Makes `buffer[next]` exist, reading on when it does not; false at the stream's end.
        private mutating func fill() -> Bool {
            while next >= buffer.count || pendingSkip > 0 {
                if next < buffer.count {
                    let passed = min(pendingSkip, buffer.count - next)
                    next += passed
                    pendingSkip -= passed
                    continue
                }
                if exhausted { return false }
                if grouped {
                    buffer = store.cloudWatchEvents(of: name)
                    lineStarts = Array(repeating: nil, count: buffer.count)
                    chunkStart = LogStore.ReadPosition()
                    next = 0
                    pendingSkip += after.eventCount
                    exhausted = true
                    continue
                }
                // A page that ends early in a stream reads little of it; a long read, in
                // larger chunks.
                let first = min(64 << 10, max(4 << 10, limit * 128))
                let read = store.events(of: name, after: after, atLeast: 0, chunkBytes: chunksRead == 0 ? first : 1 << 20)
                chunksRead += 1
                guard !read.events.isEmpty else {
                    exhausted = true
                    return false
                }
                chunkStart = after
                buffer = read.events
                lineStarts = read.lineStarts
                next = 0
                after = read.position
            }
            return true
        }

        /// Where this stream goes on: at its next unconsumed event.
        var resume: Resume {
            if grouped { return Resume(skip: chunkStart.eventCount + next) }
            guard next < buffer.count else { return Resume(line: after) }
            var line = next
            while line > 0, lineStarts[line] == nil { line -= 1 }
            guard let byte = lineStarts[line] else {
                return Resume(line: chunkStart, skip: next)
            }
            return Resume(line: LogStore.ReadPosition(byteOffset: byte, eventCount: chunkStart.eventCount + line), skip: next - line)
        }
    }
}
