import ArgumentParser
import Controller
import ECSModel
import Foundation

/// `fargate-local events [-f]`: ECS "Task State Change" events as JSON lines, in EventBridge's shape.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print ECS Task State Change events as JSON lines (EventBridge's shape).",
        discussion: "Without -f, one event per task with its current state. With -f, then one event per change until interrupted.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Keep printing events as tasks change.") var follow = false
    @Option(help: "Only tasks of this family.") var family: String?

    func run() async throws {
        try await reportingErrors {
            var seen: [String: Int] = [:]
            if let client = global.endpointClient {
                while true {
                    let tasks = try await client.tasks(try await client.taskArns(includeStopped: true, family: family))
                        .sorted { ($0.createdAt ?? .distantPast) < ($1.createdAt ?? .distantPast) }
                    var chunk = ""
                    for task in tasks where seen[task.taskID] != task.version {
                        seen[task.taskID] = task.version
                        chunk += TaskStateChangeEvent.json(task, region: global.resolvedRegion) + "\n"
                    }
                    if !chunk.isEmpty, !Console.write(chunk, to: STDOUT_FILENO) { throw ExitCode(141) }  // its reader has gone
                    if !follow { return }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            let controller = try global.makeController()
            // After the first round, only what may have changed is read: tasks not yet
            // STOPPED, those seen unstopped last round, and new ones.
            var watched: Set<String> = []
            var newest: Double?
            while true {
                let records: [TaskRecord]
                if let newest {
                    records = try await controller.store.tasksThatMayHaveChanged(family: family, watched: watched, createdSince: newest)
                } else {
                    records = try await controller.store.tasks(family: family).reversed()
                }
                var chunk = ""
                for record in records {
                    if record.task.lastStatus == .stopped { watched.remove(record.id) } else { watched.insert(record.id) }
                    newest = max(newest ?? 0, record.task.createdAt?.timeIntervalSince1970 ?? 0)
                    guard seen[record.id] != record.task.version else { continue }
                    seen[record.id] = record.task.version
                    chunk += TaskStateChangeEvent.json(record.task, region: global.resolvedRegion) + "\n"
                }
                newest = newest ?? 0
                if !chunk.isEmpty, !Console.write(chunk, to: STDOUT_FILENO) { throw ExitCode(141) }  // its reader has gone
                if !follow { return }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}

/// EventBridge's envelope around an ECS task (`detail-type: ECS Task State Change`).
enum TaskStateChangeEvent {
    static func json(_ task: ECSTask, region: String) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let detail = (try? encoder.encode(task)).flatMap { try? JSONParser.parse(Array($0)) } ?? .null
        let account = task.taskArn.split(separator: ":").dropFirst(4).first.map(String.init) ?? "000000000000"
        let event: JSONValue = .object([
            ("version", .string("0")), ("id", .string(ARNFactory.newUUID())), ("detail-type", .string("ECS Task State Change")),
            ("source", .string("aws.ecs")), ("account", .string(account)),
            ("time", .string(ISO8601DateFormatter().string(from: Date()))), ("region", .string(region)),
            ("resources", .array([.string(task.taskArn)])), ("detail", detail),
        ])
        return event.serialized()
    }
}
