import Controller
import Foundation

/// `serve`'s log of a task it runs: its lifecycle events on stderr, one line each, named by
/// task id and task definition. Container output goes to the task's log streams only.
struct TaskEventLog: TaskConsole {
    let prefix: String

    init(_ record: TaskRecord) {
        prefix = "fargate-local: task \(record.id) (\(record.definition.family):\(record.definition.revision ?? 1))"
    }

    func output(container: String, lines: [String]) {}

    func event(_ message: String) {
        Console.error("\(prefix): \(message)")
    }
}
