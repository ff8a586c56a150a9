import Controller
import ECSModel
import Foundation

/// CloudWatch Logs (Logs_20140328.*) over the streams fargate-local keeps on disk:
/// enough for `aws logs get-log-events`, `describe-log-streams` and `aws logs tail --follow`,
/// and `create-log-group` / `delete-log-group` to mirror the groups a deployment makes.
struct LogsOperations: Sendable {
    let logs: LogStore
    let arns: ARNFactory

    func handle(_ operation: String, _ r: APIRequest) async throws(APIError) -> JSONValue {
        switch operation {
        case "CreateLogGroup": return try createLogGroup(r)
        case "DeleteLogGroup": return try deleteLogGroup(r)
        case "DescribeLogGroups": return try describeLogGroups(r)
        case "DescribeLogStreams": return try describeLogStreams(r)
        case "GetLogEvents": return try getLogEvents(r)
        case "FilterLogEvents": return try filterLogEvents(r)
        default: throw APIError("UnknownOperationException", "fargate-local does not implement CloudWatch Logs operation \(operation).")
        }
    }

    func groupARN(_ group: String) -> String { "arn:aws:logs:\(arns.region):\(arns.account):log-group:\(group):*" }

    /// A log group name as CloudWatch Logs takes it: 1 to 512 of `a-z A-Z 0-9 _ - / . #`.
    func checkGroupName(_ name: String) throws(APIError) {
        let allowed = name.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "_-/.#".unicodeScalars.contains($0)
        }
        guard (1...512).contains(name.count), allowed else {
            throw APIError.invalidParameter(
                "1 validation error detected: Value '\(name)' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
            )
        }
    }

    func createLogGroup(_ r: APIRequest) throws(APIError) -> JSONValue {
        let group = try r.requiredString("logGroupName")
        try checkGroupName(group)
        let created: Bool
        do {
            created = try logs.createGroup(group)
        } catch {
            throw APIError.server("cannot create log group \(group): \(error)")
        }
        guard created else { throw APIError("ResourceAlreadyExistsException", "The specified log group already exists") }
        return .object([])
    }

    func deleteLogGroup(_ r: APIRequest) throws(APIError) -> JSONValue {
        let group = try r.requiredString("logGroupName")
        let deleted: Bool
        do {
            deleted = try logs.deleteGroup(group)
        } catch {
            throw APIError.server("cannot delete log group \(group): \(error)")
        }
        guard deleted else { throw APIError.resourceNotFound("The specified log group does not exist.") }
        return .object([])
    }

    func describeLogGroups(_ r: APIRequest) throws(APIError) -> JSONValue {
        let prefix = try r.string("logGroupNamePrefix") ?? ""
        let groups = logs.groups().filter { $0.name.hasPrefix(prefix) }
        let (page, next) = try Paging.page(groups, r, maxLimit: 50)
        var out: [(key: String, value: JSONValue)] = [
            (
                "logGroups",
                .array(
                    page.map { g in
                        .object([
                            ("logGroupName", .string(g.name)), ("creationTime", WireJSON.milliseconds(g.created)),
                            ("metricFilterCount", .number("0")), ("arn", .string(groupARN(g.name))), ("storedBytes", WireJSON.number(g.bytes)),
                        ])
                    })
            )
        ]
        if let next { out.append(("nextToken", .string(next))) }
        return .object(out)
    }

    func requireGroup(_ name: String) throws(APIError) {
        guard logs.groupExists(name) else {
            throw APIError.resourceNotFound("The specified log group does not exist.")
        }
    }

    func describeLogStreams(_ r: APIRequest) throws(APIError) -> JSONValue {
        let group = try r.requiredString("logGroupName")
        try requireGroup(group)
        let prefix = try r.string("logStreamNamePrefix") ?? ""
        let orderBy = try r.string("orderBy") ?? "LogStreamName"
        guard ["LogStreamName", "LastEventTime"].contains(orderBy) else {
            throw APIError.invalidParameter(
                "1 validation error detected: Value '\(orderBy)' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            )
        }
        // CloudWatch orders by event time only across the whole group.
        if orderBy == "LastEventTime", !prefix.isEmpty {
            throw APIError.invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        }
        var streams = logs.streams(in: group).filter { $0.name.hasPrefix(prefix) }
        if orderBy == "LastEventTime" { streams.sort { $0.lastEvent < $1.lastEvent } }
        if try r.bool("descending") == true { streams.reverse() }
        let (page, next) = try Paging.page(streams, r, maxLimit: 50)
        var out: [(key: String, value: JSONValue)] = [
            (
                "logStreams",
                .array(
                    page.map { s in
                        .object([
                            ("logStreamName", .string(s.name)), ("creationTime", WireJSON.milliseconds(s.created)),
                            ("firstEventTimestamp", WireJSON.number(s.firstEvent)), ("lastEventTimestamp", WireJSON.number(s.lastEvent)),
                            ("lastIngestionTime", WireJSON.number(s.lastEvent)), ("uploadSequenceToken", .string("1")),
                            ("arn", .string("arn:aws:logs:\(arns.region):\(arns.account):log-group:\(group):log-stream:\(s.name)")),
                            ("storedBytes", WireJSON.number(s.bytes)),
                        ])
                    })
            )
        ]
        if let next { out.append(("nextToken", .string(next))) }
        return .object(out)
    }

    func eventJSON(_ e: LogEvent, stream: String? = nil, index: Int? = nil) -> JSONValue {
        var fields: [(key: String, value: JSONValue)] = []
        if let stream { fields.append(("logStreamName", .string(stream))) }
        fields += [("timestamp", WireJSON.number(e.timestamp)), ("message", .string(e.message)), ("ingestionTime", WireJSON.number(e.timestamp))]
        if let stream, let index { fields.append(("eventId", .string("\(Self.stableHash(stream))-\(index)"))) }
        return .object(fields)
    }

    /// A stream name's FNV-1a hash (32 bits): the same in every process, so that an event's
    /// id stays the same across controllers (clients such as `aws logs tail` use it to
    /// recognise an event they have already shown).
    static func stableHash(_ s: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in s.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return hash
    }

    /// GetLogEvents. Tokens: `b/N` reads backward before event N; `f/N` forward from event
    /// N; `f/N/B` forward from event N, which starts at byte B of the stream's file, so that a
    /// client following the stream (`logs -f --endpoint`, `run --wait --endpoint`, SDK
    /// pollers) costs what the stream gained, not its whole length, each call. `f/N/B` is
    /// given by every forward read without a time range whose next event starts a line.
    func getLogEvents(_ r: APIRequest) throws(APIError) -> JSONValue {
        let group = try r.requiredString("logGroupName")
        let streamName = try r.requiredString("logStreamName")
        let name = LogStreamName(group: group, stream: streamName)
        guard logs.streamExists(name) else {
            throw APIError.resourceNotFound("The specified log stream does not exist.")
        }
        let start = try r.int("startTime").map(Int64.init)
        let end = try r.int("endTime").map(Int64.init)
        let limit = min(try r.int("limit") ?? 10000, 10000)
        guard limit >= 1 else { throw APIError.invalidParameter("limit must be at least 1.") }
        var forward = try r.bool("startFromHead") ?? false
        var position: Int? = nil
        var byteOffset: UInt64? = nil
        if let token = try r.string("nextToken") {
            let parts = token.split(separator: "/", omittingEmptySubsequences: false)
            guard (2...3).contains(parts.count), parts[0] == "f" || parts[0] == "b", let n = Int(parts[1]), n >= 0,
                parts.count == 2 || parts[0] == "f", parts.count == 2 || UInt64(parts[2]) != nil
            else {
                throw APIError.invalidParameter("The specified nextToken is invalid.")
            }
            forward = parts[0] == "f"
            position = n
            byteOffset = parts.count == 3 ? UInt64(parts[2]) : nil
        }
        let page: (events: [LogEvent], next: String, first: Int)
        if forward, start == nil, end == nil {
            // Forward with no time range: read from the token's byte when it has one (a
            // follower pays for what the stream gained), and give the next page's byte.
            let from = position ?? 0
            let wanted = (byteOffset == nil ? from : 0) + limit
            let read = logs.events(
                of: name, after: LogStore.ReadPosition(byteOffset: byteOffset ?? 0, eventCount: byteOffset == nil ? 0 : from),
                atLeast: wanted)
            let skip = byteOffset == nil ? min(from, read.events.count) : 0
            let available = read.events.count - skip
            if available <= limit {
                page = (Array(read.events[skip...]), "f/\(read.position.eventCount)/\(read.position.byteOffset)", from)
            } else {
                let nextIndex = skip + limit
                let nextByte = read.lineStarts[nextIndex].map { "/\($0)" } ?? ""
                page = (Array(read.events[skip..<nextIndex]), "f/\(from + limit)\(nextByte)", from)
            }
        } else if !forward, start == nil, end == nil, let total = logs.eventCount(of: name) {
            // Backward with no time range (`aws logs get-log-events` asks this by default):
            // the events before the token's, or the stream's last, found by counting the
            // newlines before them, then read from their line.
            let before = min(position ?? total, total)
            let from = max(0, before - limit)
            if before > from, let at = logs.position(of: name, eventIndex: from) {
                let read = logs.events(of: name, after: at, atLeast: before - at.eventCount)
                let skip = min(from - at.eventCount, read.events.count)
                let count = min(before - from, read.events.count - skip)
                let next = skip + count
                let nextByte = next < read.lineStarts.count ? read.lineStarts[next].map { "/\($0)" } ?? "" : "/\(read.position.byteOffset)"
                page = (Array(read.events[skip..<next]), "f/\(from + count)\(nextByte)", from)
            } else {
                page = ([], "f/\(before)", before)
            }
        } else if forward, position == nil || byteOffset != nil {
            // Forward within a time range: from the token's byte, else from the start time's
            // line (found without reading what comes before it); the page ends at endTime.
            let begin: LogStore.ReadPosition
            if let byteOffset, let position {
                begin = LogStore.ReadPosition(byteOffset: byteOffset, eventCount: position)
            } else {
                begin = start.flatMap { logs.position(of: name, atOrAfter: $0) } ?? LogStore.ReadPosition()
            }
            let read = logs.events(of: name, after: begin, atLeast: limit)
            var events: [LogEvent] = []
            var first: Int?
            var stop = read.events.count
            for (i, e) in read.events.enumerated() {
                if let end, e.timestamp >= end {
                    stop = i
                    break
                }
                if let start, e.timestamp < start { continue }
                if events.count == limit {
                    stop = i
                    break
                }
                first = first ?? begin.eventCount + i
                events.append(e)
            }
            let next =
                stop == read.events.count
                ? "f/\(read.position.eventCount)/\(read.position.byteOffset)"
                : "f/\(begin.eventCount + stop)" + (read.lineStarts[stop].map { "/\($0)" } ?? "")
            page = (events, next, first ?? begin.eventCount + stop)
        } else {
            let all = logs.events(of: name, after: LogStore.ReadPosition()).events
            let inRange = all.indices.filter { i in
                (start.map { all[i].timestamp >= $0 } ?? true) && (end.map { all[i].timestamp < $0 } ?? true)
            }
            let selected: [Int]
            if forward {
                let from = position ?? 0
                selected = Array(inRange.filter { $0 >= from }.prefix(limit))
            } else {
                let before = position ?? Int.max
                selected = Array(inRange.filter { $0 < before }.suffix(limit))
            }
            let nextForward = (selected.last.map { $0 + 1 }) ?? (position ?? inRange.last.map { $0 + 1 } ?? 0)
            page = (selected.map { all[$0] }, "f/\(nextForward)", selected.first ?? (position ?? 0))
        }
        return .object([
            ("events", .array(page.events.map { eventJSON($0) })),
            ("nextForwardToken", .string(page.next)),
            ("nextBackwardToken", .string("b/\(page.first)")),
        ])
    }

    func filterLogEvents(_ r: APIRequest) throws(APIError) -> JSONValue {
        let group = try r.requiredString("logGroupName")
        try requireGroup(group)
        let names = try r.strings("logStreamNames")
        let prefix = try r.string("logStreamNamePrefix")
        // CloudWatch takes one way of naming the streams, not both.
        if names != nil, prefix != nil {
            throw APIError.invalidParameter("You cannot specify both logStreamNames and logStreamNamePrefix.")
        }
        var infos = logs.streams(in: group)
        if let names { infos = infos.filter { names.contains($0.name) } }
        if let prefix { infos = infos.filter { $0.name.hasPrefix(prefix) } }
        let streams = infos.map(\.name)
        let start = try r.int("startTime").map(Int64.init)
        let end = try r.int("endTime").map(Int64.init)
        let patternText = try r.string("filterPattern") ?? ""
        let pattern: LogFilterPattern
        do {
            pattern = try LogFilterPattern(patternText)
        } catch {
            throw APIError.invalidParameter(error.description)
        }
        let limit = min(try r.int("limit") ?? 10000, 10000)
        guard limit >= 1 else { throw APIError.invalidParameter("limit must be at least 1.") }
        let from = try r.string("nextToken").map { (token: String) throws(APIError) -> [String: LogGroupSearch.Resume] in
            guard let positions = Self.searchPositions(token) else { throw APIError.invalidParameter("The specified nextToken is invalid.") }
            return positions
        }
        // A stream whose lines all fall outside the time range is not read (a poller such as
        // `aws logs tail --follow` asks from its last event on: older streams are skipped).
        let searched = infos.filter { info in (start.map { info.lastEvent >= $0 } ?? true) && (end.map { info.firstEvent <= $0 } ?? true) }.map(\.name)
        let page = LogGroupSearch.page(logs, group: group, streams: searched, from: from, start: start, end: end, pattern: pattern, limit: limit)
        var out: [(key: String, value: JSONValue)] = [
            ("events", .array(page.matches.map { eventJSON($0.event, stream: $0.stream, index: $0.index) })),
            ("searchedLogStreams", .array(streams.map { .object([("logStreamName", .string($0)), ("searchedCompletely", .bool(true))]) })),
        ]
        if let resume = page.resume { out.append(("nextToken", .string(Self.searchToken(resume)))) }
        return .object(out)
    }

    /// FilterLogEvents' nextToken: where each stream with more to search goes on
    /// (`stream TAB byte TAB event TAB skip` lines), base64url-encoded after `s1.`.
    static func searchToken(_ positions: [String: LogGroupSearch.Resume]) -> String {
        let text = positions.sorted { $0.key < $1.key }
            .map { "\($0.key)\t\($0.value.line.byteOffset)\t\($0.value.line.eventCount)\t\($0.value.skip)\n" }.joined()
        return "s1."
            + Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The positions of a `searchToken`; nil when it is not one.
    static func searchPositions(_ token: String) -> [String: LogGroupSearch.Resume]? {
        guard token.hasPrefix("s1.") else { return nil }
        var base64 = token.dropFirst(3).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        var positions: [String: LogGroupSearch.Resume] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 4, let byte = UInt64(fields[1]), let event = Int(fields[2]), let skip = Int(fields[3]), event >= 0, skip >= 0 else {
                return nil
            }
            positions[String(fields[0])] = LogGroupSearch.Resume(line: LogStore.ReadPosition(byteOffset: byte, eventCount: event), skip: skip)
        }
        return positions.isEmpty ? nil : positions
    }
}
