import Controller
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts `fargate-local supervise TASK_ID` in its own session, detached from the terminal.
enum SupervisorLauncher {
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The bundled task image maps to the `zip-task` binary built beside this one.
    static func defaultImageMap() -> [String: String] {
        let dir = URL(fileURLWithPath: executablePath()).deletingLastPathComponent()
        let zipTask = dir.appendingPathComponent("zip-task").path
        return FileManager.default.isExecutableFile(atPath: zipTask) ? ["fargate-local/zip-task": zipTask] : [:]
    }

    /// Returns its pid. It starts with SIGINT and SIGTERM ignored (this process's, set here
    /// as it is about to exit): a stop asked for before it catches them is not lost but read
    /// from the task's record once it does (`Supervision.run`), and does not end it.
    @discardableResult
    static func spawnDetached(taskID: String, global: GlobalOptions) throws -> pid_t {
        let logDir = global.resolvedStateDirectory.appendingPathComponent("supervisors", isDirectory: true)
        try? FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)
        let logPath = logDir.appendingPathComponent("\(taskID).log").path
        let args =
            [
                executablePath(), "supervise", taskID,
                "--state-dir", global.resolvedStateDirectory.path,
                "--region", global.resolvedRegion, "--cluster", global.cluster,
            ] + (global.resolvedAWSEndpoint.map { ["--aws-endpoint", $0] } ?? [])
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        do {
            return try DetachedProcess.spawn(
                args[0], Array(args.dropFirst()),
                environment: ProcessInfo.processInfo.environment.map { ($0.key, $0.value) }, log: logPath)
        } catch {
            throw CLIError("cannot start the background supervisor: \(error)", exitCode: 125)
        }
    }
}
