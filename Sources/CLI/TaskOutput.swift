import Controller
import ECSModel
import Foundation

/// Renders tasks as a `docker ps`-like table or as DescribeTasks-shaped JSON.
enum TaskOutput {
    /// `{"tasks": [...], "failures": [...]}`, with timestamps as epoch seconds as on ECS's wire.
    static func json(tasks: [ECSTask], failures: [(arn: String, reason: String)] = []) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        struct Failure: Encodable {
            let arn: String
            let reason: String
        }
        struct Body: Encodable {
            let tasks: [ECSTask]
            let failures: [Failure]
        }
        let body = Body(tasks: tasks, failures: failures.map { Failure(arn: $0.arn, reason: $0.reason) })
        return (try? String(decoding: encoder.encode(body), as: UTF8.self)) ?? "{}"
    }

    static func table(_ records: [TaskRecord], now: Date = Date()) -> String {
        table(records.map(\.task), now: now)
    }

    /// TASK ID, TASK DEFINITION (family:revision), STATUS, CONTAINERS (running/total), CREATED,
    /// ADDRESS (the task's, from its ENI attachment), EXIT (containers' exit codes in order, or
    /// "start failed").
    static func table(_ tasks: [ECSTask], now: Date = Date()) -> String {
        var rows = [["TASK ID", "TASK DEFINITION", "STATUS", "CONTAINERS", "CREATED", "ADDRESS", "EXIT"]]
        for t in tasks {
            let running = t.containers.filter { $0.lastStatus == .running }.count
            var exit = ""
            if t.lastStatus == .stopped {
                exit = t.stopCode == .taskFailedToStart ? "start failed" : t.containers.map { $0.exitCode.map(String.init) ?? "-" }.joined(separator: ",")
            }
            rows.append([
                String(t.taskID.prefix(12)),
                String(t.taskDefinitionArn.split(separator: "/").last ?? ""),
                t.lastStatus.rawValue + Self.healthNote(t),
                "\(running)/\(t.containers.count)",
                relative(t.createdAt, now: now),
                t.attachments?.first?.detail("privateIPv4Address") ?? "",
                exit,
            ])
        }
        let widths = (0..<rows[0].count).map { col in rows.map { $0[col].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "   ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// ` (healthy)` / ` (unhealthy)` after a running task's status when its health checks say
    /// so, as `docker ps` shows a container's; nothing when no health check has.
    static func healthNote(_ t: ECSTask) -> String {
        guard t.lastStatus == .running else { return "" }
        switch t.healthStatus {
        case .healthy?: return " (healthy)"
        case .unhealthy?: return " (unhealthy)"
        default: return ""
        }
    }

    static func relative(_ date: Date?, now: Date) -> String {
        guard let date else { return "" }
        let s = Int(now.timeIntervalSince(date))
        func ago(_ n: Int, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s") ago" }
        if s < 60 { return ago(max(s, 0), "second") }
        if s < 3600 { return ago(s / 60, "minute") }
        if s < 86400 { return ago(s / 3600, "hour") }
        return ago(s / 86400, "day")
    }
}
