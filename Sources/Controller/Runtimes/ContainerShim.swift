import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What a shim runs, written next to its state. The container's environment is not in
/// it (secrets never touch the disk): the shim passes its own environment on.
struct ShimSpec: Codable, Sendable {
    var executable: String
    var arguments: [String]
    var workingDirectory: String?
    /// The awslogs stream file the shim appends `<ms>\t<line>` to.
    var logFile: String
}

/// The files through which a shim and its controller talk: `spec.json`, `pid`
/// ("PID STARTTIME" once the container runs) and `exit` (its exit code, written last).
struct ShimFiles: Sendable {
    let directory: String
    var spec: String { directory + "/spec.json" }
    var pid: String { directory + "/pid" }
    var exit: String { directory + "/exit" }

    func readPID() -> (pid: pid_t, start: UInt64)? {
        guard let text = try? String(contentsOfFile: pid, encoding: .utf8) else { return nil }
        let parts = text.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count == 2, let p = pid_t(parts[0]), let s = UInt64(parts[1]) else { return nil }
        return (p, s)
    }

    func readExit() -> ContainerExit? {
        guard let text = try? String(contentsOfFile: exit, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", maxSplits: 1).map(String.init)
        guard let code = lines.first.flatMap({ Int($0) }) else { return nil }
        return ContainerExit(exitCode: code, reason: lines.count > 1 ? lines[1] : nil)
    }

    static func writeAtomically(_ text: String, to path: String) {
        let tmp = path + ".tmp"
        FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8))
        rename(tmp, path)
    }
}

/// The shim's own work (`fargate-local shim DIR`): run the container, log its output,
/// record its exit. It outlives the controller that started it.
public enum ContainerShim {
    /// Runs the container described in `directory`; returns when it has exited and its exit is recorded.
    public static func run(directory: String) async -> Int32 {
        let files = ShimFiles(directory: directory)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { signal(sig, SIG_IGN) }
        closeInheritedSockets()
        guard let data = FileManager.default.contents(atPath: files.spec),
              let spec = try? JSONDecoder().decode(ShimSpec.self, from: data) else {
            ShimFiles.writeAtomically("255\nCannotStartContainerError: the shim found no container spec in \(directory)", to: files.exit)
            return 1
        }
        guard let log = FileHandle(forWritingAtPath: spec.logFile) ?? {
            FileManager.default.createFile(atPath: spec.logFile, contents: nil)
            return FileHandle(forWritingAtPath: spec.logFile)
        }() else {
            ShimFiles.writeAtomically("255\nResourceInitializationError: cannot open the log stream \(spec.logFile)", to: files.exit)
            return 1
        }
        log.seekToEndOfFile()
        let writer = LogFileAppender(handle: log)
        var options = PlatformOptions()
        options.processGroupID = 0
        let configuration = Configuration(
            executable: .path(FilePath(spec.executable)), arguments: Arguments(spec.arguments),
            environment: .inherit.updating(["FARGATE_LOCAL_SHIM": nil]),
            workingDirectory: spec.workingDirectory.map { FilePath($0) }, platformOptions: options)
        do {
            let result = try await Subprocess.run(configuration, input: .none, output: .sequence, error: .sequence) { execution in
                let pid = execution.processIdentifier.value
                ShimFiles.writeAtomically("\(pid) \(ProcStat.startTime(pid) ?? 0)", to: files.pid)
                let stdout = execution.standardOutput
                let stderr = execution.standardError
                await withTaskGroup(of: Bool.self) { group in
                    group.addTask { await LineSplitter.drain(stdout, source: .stdout, into: writer); return true }
                    group.addTask { await LineSplitter.drain(stderr, source: .stderr, into: writer); return true }
                    group.addTask {
                        while !Task.isCancelled {
                            if ProcStat.hasExited(pid) { kill(-pid, SIGKILL); return false }
                            try? await Task.sleep(for: .milliseconds(100))
                        }
                        return false
                    }
                    var drained = 0
                    while let finished = await group.next() {
                        if finished { drained += 1; if drained == 2 { group.cancelAll() } }
                    }
                }
            }
            let code: Int
            switch result.terminationStatus {
            case let .exited(c): code = Int(c)
            case let .signaled(s): code = 128 + Int(s)
            }
            await writer.close()
            ShimFiles.writeAtomically("\(code)", to: files.exit)
        } catch {
            await writer.close()
            ShimFiles.writeAtomically("255\nCannotStartContainerError: \(error)", to: files.exit)
        }
        return 0
    }
}

extension ContainerShim {
    /// The shim is spawned by a controller whose listening sockets are not close-on-exec; a
    /// shim holding them would keep the port busy after the controller dies.
    static func closeInheritedSockets() {
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in fds {
            guard let fd = Int32(entry), fd > 2,
                  let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"),
                  target.hasPrefix("socket:") else { continue }
            close(fd)
        }
    }
}

/// Appends output batches to a log stream file in LogStore's format.
actor LogFileAppender: ContainerOutputSink {
    private let handle: FileHandle

    init(handle: FileHandle) { self.handle = handle }

    func receive(_ batch: OutputBatch) {
        var chunk = ""
        for (ts, line) in zip(batch.timestamps, batch.lines) { chunk += "\(ts)\t\(line)\n" }
        handle.write(Data(chunk.utf8))
    }

    func close() {
        try? handle.synchronize()
        try? handle.close()
    }
}
