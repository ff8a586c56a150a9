import Foundation

/// How a stream's lines become CloudWatch events when its container set awslogs multi-line
/// options: a line matching `startPattern` starts an event; the lines after it that do not
/// match join it (each line ending with a newline, as the awslogs driver sends them) until
/// the driver's 5 s flush; lines before any match form an event of their own.
public struct LogEventGrouping: Codable, Sendable, Equatable {
    public var startPattern: String
    /// The stream's writer has closed: its last event is complete.
    public var closed: Bool

    /// The awslogs driver's force-flush interval: an event is sent at the latest this long
    /// after its first line.
    public static let flushMilliseconds: Int64 = 5000

    public init(startPattern: String, closed: Bool) {
        self.startPattern = startPattern
        self.closed = closed
    }

    static func read(from url: URL) -> LogEventGrouping? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try? JSONDecoder().decode(LogEventGrouping.self, from: data)
    }

    func write(to url: URL) throws {
        try JSONEncoder().encode(self).write(to: url, options: .atomic)
    }

    /// `lines` (one event each) grouped; the open last event left out unless complete. As
    /// the awslogs driver does, a line that would take its event past `maximumEventBytes`
    /// starts a new one, a line of that size gets no newline, and an event still larger is
    /// split (`splitToEventSize`).
    public func group(_ lines: [LogEvent], now: Int64) -> [LogEvent] {
        groupFindingStarts(lines, now: now).events
    }

    /// `group`, with the index in `lines` of the line each event begins at (the same for the
    /// pieces of a split event), and of the line the event still open (not given) begins at.
    /// An event's grouping depends only on the lines from its first on, so grouping again
    /// from the open event's line gives the events that follow.
    func groupFindingStarts(_ lines: [LogEvent], now: Int64) -> (events: [LogEvent], startLines: [Int], openStart: Int?) {
        guard let regex = try? NSRegularExpression(pattern: startPattern) else { return (lines, Array(lines.indices), nil) }
        let limit = Self.maximumEventBytes
        var out: [LogEvent] = []
        var startLines: [Int] = []
        var current: LogEvent?
        var currentStart = 0
        func emit(_ event: LogEvent, from line: Int) {
            let pieces = Self.splitToEventSize(event)
            out += pieces
            startLines += Array(repeating: line, count: pieces.count)
        }
        for (index, line) in lines.enumerated() {
            let range = NSRange(line.message.startIndex..., in: line.message)
            let starts = regex.firstMatch(in: line.message, range: range) != nil
            let length = line.message.utf8.count
            let text = length < limit ? line.message + "\n" : line.message
            if let open = current, !starts, line.timestamp - open.timestamp < Self.flushMilliseconds,
                open.message.utf8.count + length <= limit
            {
                current?.message += text
            } else {
                if let open = current { emit(open, from: currentStart) }
                current = LogEvent(timestamp: line.timestamp, message: text)
                currentStart = index
            }
        }
        guard let open = current else { return (out, startLines, nil) }
        if closed || now - open.timestamp >= Self.flushMilliseconds {
            emit(open, from: currentStart)
            return (out, startLines, nil)
        }
        return (out, startLines, currentStart)
    }

    /// The awslogs driver's largest event, in UTF-8 bytes: CloudWatch's 256 KiB less the 26
    /// bytes it counts for each event.
    public static let maximumEventBytes = 262_144 - 26

    /// `event` as events of at most `maximumEventBytes` each, cut between characters, as
    /// the awslogs driver sends a longer one.
    public static func splitToEventSize(_ event: LogEvent) -> [LogEvent] {
        guard event.message.utf8.count > maximumEventBytes else { return [event] }
        var out: [LogEvent] = []
        var piece = ""
        var bytes = 0
        for scalar in event.message.unicodeScalars {
            let size = UTF8.width(scalar)
            if bytes + size > maximumEventBytes {
                out.append(LogEvent(timestamp: event.timestamp, message: piece))
                piece = ""
                bytes = 0
            }
            piece.unicodeScalars.append(scalar)
            bytes += size
        }
        if !piece.isEmpty { out.append(LogEvent(timestamp: event.timestamp, message: piece)) }
        return out
    }
}
