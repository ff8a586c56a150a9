import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a short host command (iptables) with `posix_spawn` and waits for it on a thread of
/// its own: a few milliseconds, where Foundation's `Process` costs tens on this path.
enum HostCommand {
    struct Outcome: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `executable` with `arguments`; stdin and stderr are /dev/null, stdout is captured.
    static func run(_ executable: String, _ arguments: [String]) async -> Outcome {
        (try? await Blocking.run { runBlocking(executable, arguments) }) ?? Outcome(status: -1, output: "")
    }

    static func runBlocking(_ executable: String, _ arguments: [String]) -> Outcome {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return Outcome(status: -1, output: "") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        _ = spawnActionsCloseFrom(&actions, 3)
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, &argv, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard rc == 0 else { return Outcome(status: -1, output: "") }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 { output += buffer[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
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
