import Controller
import Foundation

/// Writes to stdout and stderr without interleaving partial lines.
enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Prints a running task the way `docker compose up` does: `NAME | line` on stdout,
/// lifecycle events on stderr.
actor ConsolePrinter: TaskConsole {
    private let showEvents: Bool

    init(showEvents: Bool) { self.showEvents = showEvents }

    func output(container: String, lines: [String]) {
        var chunk = ""
        for line in lines { chunk += "\(container) | \(line)\n" }
        FileHandle.standardOutput.write(Data(chunk.utf8))
    }

    func event(_ message: String) {
        if showEvents { Console.error("fargate-local: \(message)") }
    }
}

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
