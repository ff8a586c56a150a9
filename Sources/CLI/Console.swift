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
