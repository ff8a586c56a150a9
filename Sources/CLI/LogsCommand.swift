import ArgumentParser
import Controller
import ECSModel
import Foundation

/// `fargate-local logs TASK`: the task's log streams, merged by time.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print (or follow) a task's container logs.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Task id, id prefix or ARN.") var task: String
    @Option(help: "Only this container.") var container: String?
    @Flag(name: .shortAndLong, help: "Follow until the task stops.") var follow = false
    @Option(help: ArgumentHelp("Only lines newer than this (90s, 10m, 1h).", valueName: "DURATION")) var since: String?
    @Flag(help: "Prefix each line with its timestamp.") var timestamps = false
    @Option(help: ArgumentHelp("Start with the last N events of each container (before --filter; 0: none, then only new ones with -f).", valueName: "N"))
    var tail: Int?
    @Option(
        help: ArgumentHelp(
            "Only events that match this CloudWatch Logs filter pattern, as FilterLogEvents takes it: terms (ERROR -DEBUG, ?WARN ?ERROR, \"a phrase\"), %regex%, { $.level = \"error\" } or [ip, ..., status = 5*].",
            valueName: "PATTERN"))
    var filter: String?

    func run() async throws {
        try await reportingErrors {
            let pattern = try filterPattern()
            if let tail, tail < 0 { throw CLIError("--tail \(tail): expected a number of events, 0 or more") }
            if let client = global.endpointClient {
                try await followThroughAPI(client, pattern: pattern)
                return
            }
            let controller = try global.makeController()
            var record = try await controller.store.resolveTask(task)
            if let container, record.task.containerIndex(container) == nil {
                throw CLIError(
                    "task \(record.id) has no container \"\(container)\" (containers: \(record.task.containers.map(\.name).joined(separator: ", ")))")
            }
            var minTimestamp: Int64 = 0
            if let since {
                guard let s = DurationParser.seconds(since) else { throw CLIError("--since \"\(since)\": expected a duration such as 10m") }
                minTimestamp = Int64((Date().timeIntervalSince1970 - s) * 1000)
            }
            var read: [String: LogStore.ReadPosition] = [:]
            while true {
                let names = container.map { [$0] } ?? record.task.containers.map(\.name)
                var batch: [(Int64, Int, String, String)] = []
                for (order, name) in names.enumerated() {
                    guard let stream = record.logStreams[name] else { continue }
                    // Only what the stream gained since the last round is read; with --since,
                    // the first read starts at that time, and with --tail at the line of the
                    // Nth event from the end (from the start for a stream of multi-line events).
                    let first = read[name] == nil
                    let from =
                        read[name] ?? tail.flatMap { controller.logs.tailPosition(of: stream, events: $0) }
                        ?? (since == nil ? nil : controller.logs.position(of: stream, atOrAfter: minTimestamp)) ?? LogStore.ReadPosition()
                    let gained = controller.logs.events(of: stream, after: from)
                    read[name] = gained.position
                    let events = first && tail != nil ? Array(gained.events.suffix(tail ?? 0)) : gained.events
                    for e in events where e.timestamp >= minTimestamp { batch.append((e.timestamp, order, name, e.message)) }
                }
                try print(batch, prefixed: container == nil && names.count > 1, pattern: pattern)
                if !follow || record.task.lastStatus == .stopped { break }
                try await Task.sleep(for: .milliseconds(250))
                record = try await controller.store.task(id: record.id) ?? record
            }
        }
    }

    /// The same output through a controller's CloudWatch Logs API (GetLogEvents with forward tokens).
    private func followThroughAPI(_ client: EndpointClient, pattern: LogFilterPattern?) async throws {
        let arn = try await client.resolve(task)
        let id = String(arn.split(separator: "/").last ?? "")
        var tokens: [String: String] = [:]
        let minTimestamp =
            try since.map { s -> Int64 in
                guard let seconds = DurationParser.seconds(s) else { throw CLIError("--since \"\(s)\": expected a duration such as 10m") }
                return Int64((Date().timeIntervalSince1970 - seconds) * 1000)
            } ?? 0
        while true {
            let stopped = try await client.tasks([arn]).first?.lastStatus == .stopped
            var streams = try await client.logStreams(taskID: id)
            if let container {
                streams = streams.filter { $0.container == container }
                if streams.isEmpty && stopped { throw CLIError("task \(id) has no log stream for container \"\(container)\"") }
            }
            var batch: [(Int64, Int, String, String)] = []
            var behind = false
            for (order, s) in streams.enumerated() {
                var body: [(key: String, value: JSONValue)] = [("logGroupName", .string(s.group)), ("logStreamName", .string(s.stream))]
                let first = tokens[s.stream] == nil
                if let token = tokens[s.stream] {
                    body += [("startFromHead", .bool(true)), ("nextToken", .string(token))]
                } else if let tail {
                    // The stream's last events (GetLogEvents reads backward), then on from its
                    // forward token, which points past them.
                    body += [("startFromHead", .bool(false)), ("limit", .number(String(max(1, tail))))]
                } else {
                    body.append(("startFromHead", .bool(true)))
                }
                let page = try await client.logs("GetLogEvents", .object(body))
                tokens[s.stream] = page["nextForwardToken"]?.stringValue
                guard case var .array(events)? = page["events"] else { continue }
                if first, let tail { events = Array(events.suffix(tail)) }
                // A full page: the stream has more already, so the next round comes at once.
                if events.count >= Self.eventsPerPage { behind = true }
                for e in events {
                    guard let message = e["message"]?.stringValue, case let .number(n)? = e["timestamp"], let ts = Int64(n) ?? Double(n).map({ Int64($0) })
                    else { continue }
                    if ts >= minTimestamp { batch.append((ts, order, s.container, message)) }
                }
            }
            try print(batch, prefixed: container == nil && streams.count > 1, pattern: pattern)
            if behind { continue }
            if !follow || stopped { break }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// GetLogEvents' largest page (10,000 events), which it gives when no limit is asked.
    static let eventsPerPage = 10_000

    /// `--filter`, parsed; a pattern CloudWatch would refuse is refused here, in its words.
    private func filterPattern() throws -> LogFilterPattern? {
        guard let filter else { return nil }
        do {
            return try LogFilterPattern(filter)
        } catch {
            throw CLIError("--filter: \(error.description)")
        }
    }

    /// Prints events (timestamp, stream order, container, message) merged by time, those
    /// that match `--filter` when it is given.
    private func print(_ events: [(Int64, Int, String, String)], prefixed: Bool, pattern: LogFilterPattern?) throws {
        var chunk = ""
        for (ts, _, name, message) in events.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) where pattern?.matches(message) ?? true {
            if timestamps {
                chunk +=
                    ISO8601DateFormatter.string(
                        from: Date(timeIntervalSince1970: Double(ts) / 1000), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
                    + " "
            }
            // A multi-line event ends with its last line's newline (as the awslogs driver sends it).
            let text = message.hasSuffix("\n") ? message.dropLast() : Substring(message)
            chunk += (prefixed ? "\(name) | " : "") + text + "\n"
        }
        if !chunk.isEmpty, !Console.write(chunk, to: STDOUT_FILENO) { throw ExitCode(141) }  // its reader has gone
    }
}
