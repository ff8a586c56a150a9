import Foundation

/// One log event as CloudWatch Logs returns it.
public struct LogEvent: Sendable, Equatable, Codable {
    /// Milliseconds since the epoch.
    public var timestamp: Int64
    public var message: String
}

/// Where a container's log stream lives: the awslogs group and stream names.
public struct LogStreamName: Sendable, Hashable, Codable {
    public var group: String
    public var stream: String

    public init(group: String, stream: String) {
        self.group = group
        self.stream = stream
    }
}

/// Log streams on disk under the state directory: one file per stream, one line
/// per event (`<ms>\t<message>`), appended by a single writer so lines keep their order.
public struct LogStore: Sendable {
    public let root: URL

    /// The streams under `root`, created if absent and readable by its owner only.
    public init(root: URL) throws {
        self.root = root
        // Containers' output is for the state directory's owner only.
        try PrivateFiles.makeDirectory(root)
        PrivateFiles.restrict(root.path, to: 0o700)
    }

    /// The file that holds a stream.
    public func fileURL(for name: LogStreamName) -> URL {
        root.appendingPathComponent(Self.encode(name.group), isDirectory: true)
            .appendingPathComponent(Self.encode(name.stream) + ".log")
    }

    /// Opens a stream for appending, creating it when new. `startPattern`: the container's
    /// awslogs multi-line start pattern (`AwslogsMultiline`), kept beside the stream so that
    /// its readers group its lines into events as the awslogs driver does.
    public func openWriter(for name: LogStreamName, startPattern: String? = nil) throws -> LogStreamWriter {
        let url = fileURL(for: name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ControllerError(.io, "cannot create log stream file \(url.path)")
            }
        }
        let groupingFile = Self.groupingURL(of: url)
        if let startPattern {
            try? LogEventGrouping(startPattern: startPattern, closed: false).write(to: groupingFile)
        }
        return try LogStreamWriter(url: url, groupingFile: startPattern == nil ? nil : groupingFile)
    }

    /// Where a stream's `LogEventGrouping` is kept: beside it, not named `.log`.
    static func groupingURL(of stream: URL) -> URL {
        stream.deletingPathExtension().appendingPathExtension("awslogs.json")
    }

    /// The stream's events as CloudWatch Logs holds them: its lines grouped into multi-line
    /// events when its container asked for it (`awslogs-multiline-pattern`,
    /// `awslogs-datetime-format`), as the awslogs driver sends them. An event still open
    /// (its stream's writer not closed, and younger than the driver's 5 s flush) is not
    /// given yet, so events once given never change. `now`: milliseconds since the epoch.
    public func cloudWatchEvents(of name: LogStreamName, now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) -> [LogEvent] {
        let lines = events(of: name)
        guard let grouping = LogEventGrouping.read(from: Self.groupingURL(of: fileURL(for: name))) else {
            // A line is at most the event limit in bytes as read, but a byte that is not
            // UTF-8 is stored as U+FFFD (3 bytes): such a line may still need splitting.
            return lines.flatMap(LogEventGrouping.splitToEventSize)
        }
        return grouping.group(lines, now: now)
    }

    /// Every event of a stream, oldest first; empty when the stream does not exist.
    public func events(of name: LogStreamName) -> [LogEvent] {
        guard let data = FileManager.default.contents(atPath: fileURL(for: name).path) else { return [] }
        return Self.parseLines(data[...])
    }

    /// The events of stream lines (`<ms>\t<message>`, one a line).
    static func parseLines(_ data: Data.SubSequence) -> [LogEvent] {
        var events: [LogEvent] = []
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            guard let tab = line.firstIndex(of: 0x09),
                let ts = Int64(String(decoding: line[line.startIndex..<tab], as: UTF8.self))
            else { continue }
            events.append(LogEvent(timestamp: ts, message: String(decoding: line[(tab + 1)...], as: UTF8.self)))
        }
        return events
    }

    /// How far a reader following a stream has read it.
    public struct ReadPosition: Sendable, Equatable {
        /// Bytes of the stream's file read (whole lines).
        public var byteOffset: UInt64 = 0
        /// Events given so far (for streams whose lines are grouped into multi-line events).
        public var eventCount = 0

        public init(byteOffset: UInt64 = 0, eventCount: Int = 0) {
            self.byteOffset = byteOffset
            self.eventCount = eventCount
        }
    }

    /// What a read of a stream after a `ReadPosition` gave.
    public struct StreamRead: Sendable {
        /// The events, as `cloudWatchEvents` gives them.
        public var events: [LogEvent]
        /// For each event, the byte of the stream's file its line starts at, when the event
        /// is a whole line or a line's first part (nil for a line's later parts, and in
        /// streams grouped into multi-line events): where a reader can resume before it.
        public var lineStarts: [UInt64?]
        /// The position after the events.
        public var position: ReadPosition
    }

    /// The stream's CloudWatch events after `position` (as `cloudWatchEvents` gives them),
    /// and the position after them. Only what was appended since is read, so following a
    /// large stream costs what it grows by; a stream grouped into multi-line events is
    /// re-grouped whole, since a new line may belong to its last event. With `atLeast`, the
    /// read stops once it has more than that many events (a page and the start of the next).
    /// `chunkBytes`: how much is read at a time.
    public func events(
        of name: LogStreamName, after position: ReadPosition, atLeast: Int? = nil, chunkBytes: Int = 1 << 20,
        now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)
    ) -> StreamRead {
        var read = StreamRead(events: [], lineStarts: [], position: position)
        if let grouping = LogEventGrouping.read(from: Self.groupingURL(of: fileURL(for: name))) {
            return groupedEvents(of: name, grouping, after: position, now: now)
        }
        guard let handle = FileHandle(forReadingAtPath: fileURL(for: name).path) else { return read }
        defer { try? handle.close() }
        var events: [LogEvent] = []
        var lineStarts: [UInt64?] = []
        let end = Self.readLines(
            handle, from: position.byteOffset, chunkBytes: chunkBytes,
            while: { atLeast.map { events.count <= $0 } ?? true },
            { event, byte in
                let pieces = LogEventGrouping.splitToEventSize(event)
                events += pieces
                lineStarts.append(byte)
                lineStarts += Array(repeating: nil, count: pieces.count - 1)
            })
        read.events = events
        read.lineStarts = lineStarts
        read.position = ReadPosition(byteOffset: end, eventCount: position.eventCount + events.count)
        return read
    }

    /// Reads a stream file's whole lines (`<ms>\t<message>\n`) from byte `offset`, a chunk at
    /// a time while `more()` says so, giving each line that has its time, with the byte it
    /// starts at. A line still being written (no newline yet) is left for a later read.
    /// Returns the byte after the last whole line read.
    private static func readLines(
        _ handle: FileHandle, from offset: UInt64, chunkBytes: Int = 1 << 20,
        while more: () -> Bool = { true }, _ line: (LogEvent, UInt64) -> Void
    ) -> UInt64 {
        guard (try? handle.seek(toOffset: offset)) != nil else { return offset }
        var end = offset
        var pending = Data()  // the start of a line whose newline is in a later chunk
        while more() {
            guard let chunk = try? handle.read(upToCount: chunkBytes), !chunk.isEmpty else { break }
            pending.append(chunk)
            guard let lastNewline = pending.lastIndex(of: 0x0A) else { continue }
            let whole = pending[pending.startIndex...lastNewline]
            var lineStart = whole.startIndex
            while lineStart < whole.endIndex {
                // `whole` ends with a newline, so every line start has one after it.
                guard let newline = whole[lineStart...].firstIndex(of: 0x0A) else { break }
                let text = whole[lineStart..<newline]
                if let tab = text.firstIndex(of: 0x09), let ts = Int64(String(decoding: text[text.startIndex..<tab], as: UTF8.self)) {
                    line(LogEvent(timestamp: ts, message: String(decoding: text[(tab + 1)...], as: UTF8.self)), end + UInt64(lineStart - whole.startIndex))
                }
                lineStart = newline + 1
            }
            end += UInt64(whole.count)
            pending = Data(pending[(lastNewline + 1)...])
        }
        return end
    }

    /// Where a search from `time` on can start reading a stream: the first line whose time is
    /// at or after `time`, and how many events come before it. Found by bisecting the file on
    /// its lines' times (a stream's lines are written in time order) and counting the events
    /// before that line from their newlines, so a poller asking for the last seconds of a
    /// large stream (`aws logs tail --follow`) reads little of it. Nil for a stream grouped
    /// into multi-line events (grouping needs every line) or one that cannot be read.
    public func position(of name: LogStreamName, atOrAfter time: Int64) -> ReadPosition? {
        guard let handle = plainStreamHandle(name) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        func read(_ offset: UInt64, _ count: Int) -> Data {
            guard (try? handle.seek(toOffset: offset)) != nil else { return Data() }
            return (try? handle.read(upToCount: count)) ?? Data()
        }
        // The first line start at or after `offset` (`size` when there is none).
        func lineStart(atOrAfter offset: UInt64) -> UInt64 {
            if offset == 0 { return 0 }
            var at = offset - 1
            while at < size {
                let chunk = read(at, 4096)
                if chunk.isEmpty { return size }
                if let newline = chunk.firstIndex(of: 0x0A) { return at + UInt64(newline - chunk.startIndex) + 1 }
                at += UInt64(chunk.count)
            }
            return size
        }
        func timestamp(at offset: UInt64) -> Int64? {
            let head = read(offset, 24)
            guard let tab = head.firstIndex(of: 0x09) else { return nil }
            return Int64(String(decoding: head[head.startIndex..<tab], as: UTF8.self))
        }
        var low: UInt64 = 0
        var high = size
        var found = size
        while low < high {
            let mid = low + (high - low) / 2
            let start = lineStart(atOrAfter: mid)
            if start >= high {
                high = mid
            } else if let ts = timestamp(at: start), ts < time {
                low = start + 1
            } else {
                found = start
                high = mid
            }
        }
        return ReadPosition(byteOffset: found, eventCount: eventCount(handle, before: found))
    }

    /// The stream's file, open for reading, unless the stream is grouped into multi-line
    /// events (whose events cannot be counted or found line by line) or cannot be read.
    private func plainStreamHandle(_ name: LogStreamName) -> FileHandle? {
        let url = fileURL(for: name)
        guard LogEventGrouping.read(from: Self.groupingURL(of: url)) == nil else { return nil }
        return FileHandle(forReadingAtPath: url.path)
    }

    /// The number of events in the first `end` bytes of a stream file (whole lines).
    private func eventCount(_ handle: FileHandle, before end: UInt64) -> Int {
        Self.scanLines(handle, upTo: end) { _, _, _ in false }.eventCount
    }

    /// Where a stream's event `index` is: the start of its line and the number of events
    /// before that line (more than one event can share a line: the reader skips the rest).
    /// Nil for a stream grouped into multi-line events, or one that cannot be read.
    public func position(of name: LogStreamName, eventIndex index: Int) -> ReadPosition? {
        guard let handle = plainStreamHandle(name) else { return nil }
        defer { try? handle.close() }
        return Self.scanLines(handle, upTo: .max) { _, before, events in before + events > index }
    }

    /// Where a reader starts to get a stream's last `events` events (`logs --tail`): the line
    /// of the one that many from the end; nil as for `position(of:eventIndex:)` (read the
    /// stream from its start then).
    public func tailPosition(of name: LogStreamName, events: Int) -> ReadPosition? {
        guard let count = eventCount(of: name) else { return nil }
        return position(of: name, eventIndex: max(0, count - events))
    }

    /// The number of events in a stream's whole lines, counted from its newlines; nil as for
    /// `position(of:eventIndex:)`.
    public func eventCount(of name: LogStreamName) -> Int? {
        guard let handle = plainStreamHandle(name) else { return nil }
        defer { try? handle.close() }
        return eventCount(handle, before: .max)
    }

    /// Walks a stream file's whole lines from its start, up to byte `end`, counting their
    /// events (one a line, more for a line longer than an event, see `splitToEventSize`; none
    /// for a line without its timestamp) from the newlines (memchr), not parsing them. Stops
    /// at the first line for which `stop(its byte, events before it, its events)` is true.
    /// Returns the position there (or after the last whole line).
    private static func scanLines(_ handle: FileHandle, upTo end: UInt64, stop: (UInt64, Int, Int) -> Bool) -> ReadPosition {
        guard end > 0, (try? handle.seek(toOffset: 0)) != nil else { return ReadPosition() }
        // A line this short is one event even if every byte of it becomes U+FFFD (3 bytes).
        let surelyOneEvent = LogEventGrouping.maximumEventBytes / 3
        var count = 0
        var offset: UInt64 = 0
        var pendingStart: UInt64 = 0  // the file byte where `pending` begins
        var pending = Data()  // a line begun in an earlier chunk
        while offset < end {
            guard let chunk = try? handle.read(upToCount: Int(min(1 << 20, end - offset))), !chunk.isEmpty else { break }
            offset += UInt64(chunk.count)
            pending.append(chunk)
            var stopped = false
            let consumed = pending.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Int in
                guard let base = bytes.baseAddress else { return 0 }
                var lineStart = 0
                while lineStart < bytes.count,
                    let found = memchr(base + lineStart, 0x0A, bytes.count - lineStart)
                {
                    let newline = base.distance(to: found)
                    // `<digits>\t` starts an event's line; a line without one is no event.
                    var events = 0
                    var tab = lineStart
                    while tab < min(newline, lineStart + 21), bytes[tab] != 0x09 { tab += 1 }
                    if tab > lineStart, tab < newline, bytes[tab] == 0x09,
                        (lineStart..<tab).allSatisfy({ (0x30...0x39).contains(bytes[$0]) || bytes[$0] == 0x2D })
                    {
                        if newline - tab - 1 <= surelyOneEvent {
                            events = 1
                        } else {
                            let message = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(tab + 1)..<newline]), as: UTF8.self)
                            events = LogEventGrouping.splitToEventSize(LogEvent(timestamp: 0, message: message)).count
                        }
                    }
                    if stop(pendingStart + UInt64(lineStart), count, events) {
                        stopped = true
                        return lineStart
                    }
                    count += events
                    lineStart = newline + 1
                }
                return lineStart
            }
            pendingStart += UInt64(consumed)
            if stopped { break }
            pending = Data(pending.dropFirst(consumed))
        }
        return ReadPosition(byteOffset: pendingStart, eventCount: count)
    }

    /// `events(of:after:)` for a stream grouped into multi-line events. Its positions hold the
    /// byte of the line that begins the next event not yet given (which may still be open):
    /// grouping again from there gives the events after, so a follower regroups only the last
    /// event and what came after it. A position at byte 0 regroups the stream from its start
    /// and skips the events already given.
    private func groupedEvents(of name: LogStreamName, _ grouping: LogEventGrouping, after position: ReadPosition, now: Int64) -> StreamRead {
        var read = StreamRead(events: [], lineStarts: [], position: position)
        guard let handle = FileHandle(forReadingAtPath: fileURL(for: name).path) else { return read }
        defer { try? handle.close() }
        // The whole lines from the position on, with the byte each begins at.
        var lines: [LogEvent] = []
        var lineBytes: [UInt64] = []
        let end = Self.readLines(handle, from: position.byteOffset) { line, byte in
            lines.append(line)
            lineBytes.append(byte)
        }
        let grouped = grouping.groupFindingStarts(lines, now: now)
        let fromStart = position.byteOffset == 0
        let skip = fromStart ? position.eventCount : 0
        let base = fromStart ? 0 : position.eventCount
        guard base + grouped.events.count >= position.eventCount else { return read }
        read.events = Array(grouped.events[min(skip, grouped.events.count)...])
        read.lineStarts = grouped.startLines.indices.dropFirst(skip).map { i in
            i == 0 || grouped.startLines[i - 1] != grouped.startLines[i] ? lineBytes[grouped.startLines[i]] : nil
        }
        read.position = ReadPosition(
            byteOffset: grouped.openStart.map { lineBytes[$0] } ?? end,
            eventCount: base + grouped.events.count)
        return read
    }

    /// File names may not contain "/": percent-encode it (and "%" itself).
    static func encode(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "/": out += "%2F"
            case "%": out += "%25"
            case "\0": out += "%00"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out == "." || out == ".." ? out.replacingOccurrences(of: ".", with: "%2E") : out
    }
}

extension LogStore {
    /// A log group on disk.
    public struct GroupInfo: Sendable {
        public var name: String
        public var created: Date
        public var bytes: Int64
    }

    /// A log stream on disk, with its first and last event times (ms).
    public struct StreamInfo: Sendable {
        public var name: String
        public var created: Date
        public var firstEvent: Int64
        public var lastEvent: Int64
        public var bytes: Int64
    }

    /// Every group, by name. A group's creation time is its oldest stream's first event
    /// (fargate-local makes a group when it first writes to it), else its folder's time.
    public func groups() -> [GroupInfo] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.compactMap { dir -> GroupInfo? in
            let path = root.appendingPathComponent(dir).path
            let attrs = try? fm.attributesOfItem(atPath: path)
            guard attrs?[.type] as? FileAttributeType == .typeDirectory else { return nil }
            let streams = self.streams(in: Self.decode(dir))
            let folderTime = attrs?[.modificationDate] as? Date ?? Date()
            let created = streams.map(\.created).min().map { min($0, folderTime) } ?? folderTime
            return GroupInfo(name: Self.decode(dir), created: created, bytes: streams.reduce(0) { $0 + $1.bytes })
        }.sorted { $0.name < $1.name }
    }

    /// Whether the log group exists: a stream was written to it, or it was created.
    public func groupExists(_ group: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: root.appendingPathComponent(Self.encode(group), isDirectory: true).path, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }

    /// Creates an empty log group (CreateLogGroup). False when it exists already.
    public func createGroup(_ group: String) throws -> Bool {
        guard !groupExists(group) else { return false }
        try FileManager.default.createDirectory(at: root.appendingPathComponent(Self.encode(group), isDirectory: true), withIntermediateDirectories: true)
        return true
    }

    /// Deletes a log group and every stream in it (DeleteLogGroup). False when it does not exist.
    public func deleteGroup(_ group: String) throws -> Bool {
        guard groupExists(group) else { return false }
        try FileManager.default.removeItem(at: root.appendingPathComponent(Self.encode(group), isDirectory: true))
        return true
    }

    /// Every stream of a group, by name. Reads only each stream's first and last lines.
    public func streams(in group: String) -> [StreamInfo] {
        let dir = root.appendingPathComponent(Self.encode(group), isDirectory: true)
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return files.filter { $0.hasSuffix(".log") }
            .compactMap { streamInfo(LogStreamName(group: group, stream: Self.decode(String($0.dropLast(4))))) }
            .sorted { $0.name < $1.name }
    }

    /// Whether a stream exists.
    public func streamExists(_ name: LogStreamName) -> Bool {
        FileManager.default.fileExists(atPath: fileURL(for: name).path)
    }

    /// One stream's times and size, or nil when it does not exist. Its creation time is its
    /// first event's (a stream is made as its container starts writing), else the file's.
    /// Only the stream's first and last lines are read, so a large stream costs no more.
    public func streamInfo(_ name: LogStreamName) -> StreamInfo? {
        let path = fileURL(for: name).path
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let fileTime = Int64(((attrs[.modificationDate] as? Date) ?? Date()).timeIntervalSince1970 * 1000)
        let (first, last) = Self.firstAndLastTimestamps(path: path)
        let created = first ?? fileTime
        return StreamInfo(
            name: name.stream, created: Date(timeIntervalSince1970: Double(created) / 1000),
            firstEvent: first ?? fileTime, lastEvent: last ?? fileTime,
            bytes: attrs[.size] as? Int64 ?? 0)
    }

    /// The timestamps of a stream file's first and last lines (`<ms>\t<message>`), read from
    /// its head and its tail only.
    static func firstAndLastTimestamps(path: String) -> (first: Int64?, last: Int64?) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return (nil, nil) }
        defer { try? handle.close() }
        func timestamp(_ line: Data.SubSequence) -> Int64? {
            guard let tab = line.firstIndex(of: 0x09) else { return nil }
            return Int64(String(decoding: line[line.startIndex..<tab], as: UTF8.self))
        }
        // A timestamp is at most 20 digits: the head's first 32 bytes hold the first one.
        let head = (try? handle.read(upToCount: 32)) ?? Data()
        guard let first = timestamp(head[...]) else { return (nil, nil) }
        // The last line starts after the last newline but the final one: read back from the
        // end in growing chunks until that newline is in view (a line can be 256 KiB).
        guard let size = try? handle.seekToEnd(), size > 0 else { return (first, nil) }
        var chunk: UInt64 = 4096
        while true {
            let start = size > chunk ? size - chunk : 0
            try? handle.seek(toOffset: start)
            guard let tail = try? handle.readToEnd(), !tail.isEmpty else { return (first, first) }
            var body = tail[...]
            if body.last == 0x0A { body = body.dropLast() }
            // The last line that parses (one still being written may not, yet).
            while let newline = body.lastIndex(of: 0x0A) {
                if let last = timestamp(body[(newline + 1)...]) { return (first, last) }
                body = body[..<newline]
            }
            if start == 0 { return (first, timestamp(body) ?? first) }
            chunk *= 4
        }
    }

    static func decode(_ s: String) -> String {
        s.replacingOccurrences(of: "%2F", with: "/").replacingOccurrences(of: "%00", with: "\0")
            .replacingOccurrences(of: "%2E", with: ".").replacingOccurrences(of: "%25", with: "%")
    }
}
