import Controller
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Supervises a task in this process until it stops. SIGINT and SIGTERM stop the
/// task the way StopTask does (SIGTERM to containers, then SIGKILL after stopTimeout).
enum Supervision {
    static func run(record: TaskRecord, controller: TaskController, runtime: any ContainerRuntime,
                    console: (any TaskConsole)?) async throws -> TaskRecord {
        let supervisor = controller.supervisor(for: record, runtime: runtime, console: console)
        let store = controller.store
        let id = record.id
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                Task {
                    let stored = try? await store.task(id: id)
                    let reason = stored?.requestedStopReason ?? (sig == SIGINT ? "Task stopped by user (interrupted)" : "Task stopped by user")
                    supervisor.requestStop(reason: reason, timeout: stored?.requestedStopTimeout)
                }
            }
            source.resume()
            sources.append(source)
        }
        let final = await supervisor.run()
        for source in sources { source.cancel() }
        return final
    }
}

/// Starts `fargate-local supervise TASK_ID` in its own session, detached from the terminal.
enum SupervisorLauncher {
    /// glibc's POSIX_SPAWN_SETSID (0x80), which Swift does not import.
    static let posixSpawnSetsid: Int16 = 0x80

    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The bundled task image maps to the `zip-task` binary built beside this one.
    static func defaultImageMap() -> [String: String] {
        let dir = URL(fileURLWithPath: executablePath()).deletingLastPathComponent()
        let zipTask = dir.appendingPathComponent("zip-task").path
        return FileManager.default.isExecutableFile(atPath: zipTask) ? ["fargate-local/zip-task": zipTask] : [:]
    }

    static func spawnDetached(taskID: String, global: GlobalOptions) throws {
        let logDir = global.resolvedStateDirectory.appendingPathComponent("supervisors", isDirectory: true)
        try? FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)
        let logPath = logDir.appendingPathComponent("\(taskID).log").path
        let args = [executablePath(), "supervise", taskID,
                    "--state-dir", global.resolvedStateDirectory.path,
                    "--region", global.resolvedRegion, "--cluster", global.cluster] + (global.resolvedAWSEndpoint.map { ["--aws-endpoint", $0] } ?? [])
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Self.posixSpawnSetsid)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, args[0], &actions, &attr, &cArgs, environ)
        guard rc == 0 else {
            throw CLIError("cannot start the background supervisor: \(String(cString: strerror(rc)))", exitCode: 125)
        }
    }
}
