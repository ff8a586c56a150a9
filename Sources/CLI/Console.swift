import Controller
import Foundation
import ShimCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes to stdout and stderr without interleaving partial lines, and without dying when a
/// reader has gone (`fargate-local run --wait | head`): a write to a closed pipe fails
/// (`write` returns false) instead of trapping, as Foundation's `FileHandle.write` does.
enum Console {
    static func out(_ text: String) {
        write(text + "\n", to: STDOUT_FILENO)
    }

    static func error(_ text: String) {
        write(text + "\n", to: STDERR_FILENO)
    }

    /// Writes all of `text` to `descriptor`; false when it cannot (its reader has gone: EPIPE,
    /// or another error).
    @discardableResult
    static func write(_ text: String, to descriptor: Int32) -> Bool {
        FileBytes.writeAll(descriptor, Array(text.utf8))
    }

    /// Whoever reads this process's output may go first (`| head`): writes to a closed pipe
    /// then fail instead of killing the process. For the processes that supervise tasks
    /// (`run`, `supervise`, `serve`), which must see their tasks to the end.
    static func surviveClosedOutput() {
        signal(SIGPIPE, SIG_IGN)
    }
}

/// Prints a running task the way `docker compose up` does: `NAME | line` on stdout,
/// lifecycle events on stderr.
actor ConsolePrinter: TaskConsole {
    private let showEvents: Bool
    private var outputClosed = false

    init(showEvents: Bool) { self.showEvents = showEvents }

    func output(container: String, lines: [String]) {
        guard !outputClosed else { return }
        var chunk = ""
        for line in lines { chunk += "\(container) | \(line)\n" }
        if !Console.write(chunk, to: STDOUT_FILENO) {
            // Its reader has gone (`| head`): the task runs on, supervised to the end.
            outputClosed = true
            Console.error(Self.outputClosedNote)
        }
    }

    static let outputClosedNote =
        "fargate-local: stdout was closed; the task runs on to its end, and its output is kept in its log streams (fargate-local logs)"

    func event(_ message: String) {
        // Warnings (lines lost, say) are said even with -q, which hides the lifecycle only.
        if showEvents || message.hasPrefix("warning:") { Console.error("fargate-local: \(message)") }
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
