import ArgumentParser
import Controller
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

    func run() async throws {
        try await reportingErrors {
            let controller = try global.makeController()
            var record = try await controller.store.resolveTask(task)
            if let container, record.task.containerIndex(container) == nil {
                throw CLIError("task \(record.id) has no container \"\(container)\" (containers: \(record.task.containers.map(\.name).joined(separator: ", ")))")
            }
            var minTimestamp: Int64 = 0
            if let since {
                guard let s = DurationParser.seconds(since) else { throw CLIError("--since \"\(since)\": expected a duration such as 10m") }
                minTimestamp = Int64((Date().timeIntervalSince1970 - s) * 1000)
            }
            var printed: [String: Int] = [:]
            while true {
                let names = container.map { [$0] } ?? record.task.containers.map(\.name)
                var batch: [(Int64, Int, String, String)] = []
                for (order, name) in names.enumerated() {
                    guard let stream = record.logStreams[name] else { continue }
                    let events = controller.logs.events(of: stream)
                    let start = printed[name] ?? 0
                    if events.count > start {
                        for e in events[start...] where e.timestamp >= minTimestamp { batch.append((e.timestamp, order, name, e.message)) }
                        printed[name] = events.count
                    }
                }
                batch.sort { ($0.0, $0.1) < ($1.0, $1.1) }
                var chunk = ""
                for (ts, _, name, message) in batch {
                    if timestamps {
                        chunk += ISO8601DateFormatter.string(from: Date(timeIntervalSince1970: Double(ts) / 1000), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds]) + " "
                    }
                    chunk += (container == nil && names.count > 1 ? "\(name) | " : "") + message + "\n"
                }
                if !chunk.isEmpty { FileHandle.standardOutput.write(Data(chunk.utf8)) }
                if !follow || record.task.lastStatus == .stopped { break }
                try await Task.sleep(for: .milliseconds(250))
                record = try await controller.store.task(id: record.id) ?? record
            }
        }
    }
}
