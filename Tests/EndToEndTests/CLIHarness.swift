import Foundation
import Subprocess
import TestSupport
import Testing

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs the built `fargate-local` binary as a user would, on a private state directory.
struct CLIHarness {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
    }

    let stateDirectory: URL
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init() {
        stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("fl-e2e-\(UUID().uuidString)", isDirectory: true)
    }

    /// Removes the state directory, after stopping (SIGKILL at once) the tasks still running
    /// in it: a test that failed half-way leaves no background supervisor or container
    /// behind to hold ports (8790) and CPU for the tests after it.
    func cleanup() {
        if FileManager.default.fileExists(atPath: stateDirectory.appendingPathComponent("state.sqlite").path) {
            let running = Self.runSynchronously(["ps", "-q", "--state-dir", stateDirectory.path])
            let ids = running.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            if !ids.isEmpty { _ = Self.runSynchronously(["stop", "--time", "0", "--wait", "--state-dir", stateDirectory.path] + ids) }
        }
        try? FileManager.default.removeItem(at: stateDirectory)
    }

    /// Runs the binary to its end (at most 20 s) and returns its standard output.
    private static func runSynchronously(_ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: deadline)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        deadline.cancel()
        return String(decoding: data, as: UTF8.self)
    }

    /// The binary under test: $FARGATE_LOCAL_BIN, else the one built beside the test bundle.
    static var binary: String {
        if let env = ProcessInfo.processInfo.environment["FARGATE_LOCAL_BIN"] { return env }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // Inside an .xctest bundle directory on some layouts.
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("fargate-local").path
    }

    /// Runs `fargate-local ARGS --state-dir DIR` from the repository root. Tasks run with the
    /// process runtime unless the test names one (`auto`, the default, would pick Docker in CI).
    /// `environment`: variables set (or, with nil, removed) for this run only.
    func run(_ arguments: [String], stateDir: Bool = true, environment: [String: String?] = [:]) async throws -> Result {
        var args = arguments
        if ["run", "serve"].contains(args.first ?? ""), !args.contains("--runtime") { args += ["--runtime", "process"] }
        // Right after the subcommand: what follows `exec TASK` is the command to run.
        if stateDir { args.insert(contentsOf: ["--state-dir", stateDirectory.path], at: min(1, args.count)) }
        let result = try await Subprocess.run(
            .path(FilePath(Self.binary)), arguments: Arguments(args),
            environment: .inherit.updating(Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), $0.value) })),
            workingDirectory: FilePath(Self.repository.path),
            output: .string(limit: 64 * 1024 * 1024), error: .string(limit: 16 * 1024 * 1024))
        let status: Int32
        switch result.terminationStatus {
        case let .exited(code): status = code
        case let .signaled(sig): status = 128 + sig
        }
        return Result(status: status, stdout: result.standardOutput, stderr: result.standardError)
    }

    /// Starts `fargate-local serve` in the background (so a test can kill -9 it), waits for
    /// /health, and records its pid in `serve.pid`. `output`: a bash redirection of its
    /// output (appended to `serve.out` unless given; `$1` is the state directory).
    func startBackgroundServe(
        port: Int, runtime: String, host: String = "127.0.0.1",
        output: String = #">>"$1/serve.out" 2>&1"#
    ) async throws {
        let url = host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        let script = """
            "$0" serve --runtime \(runtime) --host \(host) --port \(port) --state-dir "$1" \(output) & echo $! > "$1/serve.pid"
            for i in $(seq 1 100); do curl -sf --max-time 1 \(url)/health >/dev/null && break; sleep 0.1; done
            """
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        _ = try await Command.run("bash", ["-c", script, Self.binary, stateDirectory.path])
    }

    /// A fixture's task definition written into the state directory, made to run in
    /// `runtime`: for Docker (whose engine must answer), its images become
    /// debian:bookworm-slim (fixtures name placeholders for the process runtime). Its path.
    func definition(_ fixture: String, for runtime: String) async throws -> String {
        var text = try String(contentsOf: Self.repository.appendingPathComponent(fixture), encoding: .utf8)
        if runtime == "docker" {
            try await DockerRequirement.engine()
            text = text.replacingOccurrences(of: #""image": "[^"]*""#, with: #""image": "debian:bookworm-slim""#, options: .regularExpression)
        }
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        let file = stateDirectory.appendingPathComponent(URL(fileURLWithPath: fixture).lastPathComponent)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// Runs `body` with a 1 MiB tmpfs over the state directory's `logs` folder, so that log
    /// streams fill their disk (mounting needs root, as CI runs); unmounted after.
    func withSmallLogDisk<T>(_ body: () async throws -> T) async throws -> T {
        let logs = stateDirectory.appendingPathComponent("logs").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let mounted = try await Command.run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", logs])
        #expect(mounted.status == 0, "a small tmpfs for the logs needs root: \(mounted.stderr)")
        defer { _ = try? Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: ["-l", logs]).waitUntilExit() }
        return try await body()
    }

    /// Runs `body`, then kills the background `serve` (kill -9), whether `body` threw or not.
    func killingBackgroundServeAfter<T>(_ body: () async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            try? await killBackgroundServe()
            throw error
        }
        try await killBackgroundServe()
        return result
    }

    /// kill -9 of the background `serve`.
    func killBackgroundServe() async throws {
        let pid = try String(contentsOf: stateDirectory.appendingPathComponent("serve.pid"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try await Command.run("kill", ["-9", pid])
    }
}
