import Foundation
import ShimCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs a short host command (iptables, a docker credential helper) with `posix_spawn` and
/// waits for it on a thread of its own: a few milliseconds, where Foundation's `Process`
/// costs tens on this path.
enum HostCommand {
    struct Outcome: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `executable` with `arguments`; stdin and stderr are /dev/null, stdout is captured.
    static func run(_ executable: String, _ arguments: [String]) async -> Outcome {
        (try? await Blocking.run { runBlocking(executable, arguments) }) ?? Outcome(status: -1, output: "")
    }

    /// The same, blocking; `input` (small: it is written whole before the output is read) is
    /// its stdin instead of /dev/null, and after `timeoutSeconds` it is killed.
    static func runBlocking(_ executable: String, _ arguments: [String], input: String? = nil, timeoutSeconds: Int? = nil) -> Outcome {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return Outcome(status: -1, output: "") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var stdinFDs: [Int32] = [-1, -1]
        if input != nil {
            guard pipe(&stdinFDs) == 0 else {
                close(fds[0])
                close(fds[1])
                return Outcome(status: -1, output: "")
            }
            _ = fcntl(stdinFDs[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(stdinFDs[1], F_SETFD, FD_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil {
            posix_spawn_file_actions_adddup2(&actions, stdinFDs[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        _ = spawnActionsCloseFrom(&actions, 3)
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, &argv, environ)
        close(fds[1])
        defer { close(fds[0]) }
        if let input {
            close(stdinFDs[0])
            if rc == 0 { _ = FileBytes.writeAll(stdinFDs[1], Array(input.utf8)) }
            close(stdinFDs[1])
        }
        guard rc == 0 else { return Outcome(status: -1, output: "") }
        let killer = DispatchWorkItem { [pid] in kill(pid, SIGKILL) }
        if let timeoutSeconds { DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeoutSeconds), execute: killer) }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 { output += buffer[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        killer.cancel()
        let exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Outcome(status: exitCode, output: String(decoding: output, as: UTF8.self))
    }

    /// Starts `executable` with stdin, stdout and stderr on /dev/null and does not wait for
    /// it: it finishes even if this process exits first (it is reaped while we live).
    static func startInBackground(_ executable: String, _ arguments: [String]) {
        let environment = ProcessInfo.processInfo.environment.map { ($0.key, $0.value) }
        guard let pid = try? DetachedProcess.spawn(executable, arguments, environment: environment, log: "/dev/null") else { return }
        DetachedProcess.reapInBackground(pid)
    }
}
