import Controller
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Prints a running task the way `docker compose up` does: `NAME | line` on stdout (or the
/// bare lines, unprefixed), lifecycle events on stderr.
actor ConsolePrinter: TaskConsole {
    private let showEvents: Bool
    private let prefixed: Bool
    private var outputClosed = false

    init(showEvents: Bool, prefixed: Bool = true) {
        self.showEvents = showEvents
        self.prefixed = prefixed
    }

    func output(container: String, lines: [String]) {
        guard !outputClosed else { return }
        let prefix = prefixed ? "\(container) | " : ""
        var chunk = ""
        for line in lines { chunk += prefix + line + "\n" }
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
