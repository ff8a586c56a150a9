import ECSModel
import Foundation
import ShimCore
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command inside a running container of a task, as `aws ecs execute-command` does on
/// Fargate: in the container's filesystem and with its environment; its output goes to this
/// process's stdout and stderr, and its exit code is returned.
public enum ContainerExec {
    /// Runs `command` in container `name` of `record`, with this process's stdin; `tty`
    /// gives it a terminal (as `docker exec -t`), this one put in raw mode meanwhile when
    /// stdin is one. Docker: an engine exec. Process runtime: the container's environment,
    /// working directory and mount namespace (the terminal through script(1)).
    public static func run(_ command: [String], in name: String, of record: TaskRecord, tty: Bool = false) async throws(ControllerError) -> Int {
        guard !command.isEmpty else { throw ControllerError(.invalidInput, "no command to run in container \(name)") }
        guard record.task.lastStatus != .stopped,
            let container = record.task.containers.first(where: { $0.name == name }), container.lastStatus == .running
        else {
            throw ControllerError(.state, "container \(name) of task \(record.id) is not running")
        }
        if record.runtimeName == "docker" {
            let id = record.runtimeIDs[name] ?? DockerRuntime.containerName(taskID: record.id, container: name)
            return try await dockerExec(command, container: id, name: name, tty: tty)
        }
        guard let pid = record.runtimeIDs[name].flatMap(Int32.init), pid > 1,
            let started = record.processStartTimes?[name], ProcStat.startTime(pid) == started
        else {
            throw ControllerError(.state, "container \(name) of task \(record.id) is not running (its process is gone)")
        }
        return try await processExec(command, pid: pid, name: name, tty: tty)
    }

    // MARK: Docker

    static func dockerExec(_ command: [String], container id: String, name: String, tty: Bool) async throws(ControllerError) -> Int {
        let engine = try DockerEngine.fromEnvironment()
        do {
            return try await Blocking.run { () throws -> Int in
                // As docker exec: with a terminal, stdin goes in only when it is a terminal too
                // (-it); a terminal's input that ended would hang the command's terminal up.
                let attachStdin = !tty || isatty(STDIN_FILENO) == 1
                var config: [(key: String, value: JSONValue)] = [
                    ("AttachStdin", .bool(attachStdin)), ("AttachStdout", .bool(true)), ("AttachStderr", .bool(true)), ("Tty", .bool(tty)),
                    ("Cmd", .array(command.map { JSONValue.string($0) })),
                ]
                if tty, let term = ProcessInfo.processInfo.environment["TERM"], !term.isEmpty {
                    config.append(("Env", .array([.string("TERM=\(term)")])))
                }
                let created = try engine.request("POST", "/containers/\(id)/exec", body: .object(config))
                guard created.status == 201, let exec = (try? JSONParser.parse(created.body))?["Id"]?.stringValue else {
                    throw ControllerError(.state, "cannot run a command in container \(name): \(DockerEngine.message(created))")
                }
                var demuxer = LogDemuxer { source, bytes in writeAll(source == .stderr ? 2 : 1, bytes) }
                // With a terminal here too, keys go to the container's as they are typed.
                let terminal = tty ? RawTerminal(STDIN_FILENO) : nil
                defer { terminal?.restore() }
                // The container's terminal takes this one's size, at start and at each window
                // resize (SIGWINCH), as docker exec -t does.
                func resize() {
                    guard let (rows, columns) = RawTerminal.size() else { return }
                    _ = try? engine.request("POST", "/exec/\(exec)/resize?h=\(rows)&w=\(columns)")
                }
                var resizes: DispatchSourceSignal?
                defer { resizes?.cancel() }
                // The connection is taken over: exec's stdin goes to the command, its output
                // comes back (one stream when it has a terminal, else stdout and stderr framed).
                let started = try engine.transport.hijack(
                    method: "POST", target: "/\(engine.apiVersion)/exec/\(exec)/start",
                    headers: [("Content-Type", "application/json")],
                    body: Array("{\"Detach\":false,\"Tty\":\(tty)}".utf8), input: attachStdin ? STDIN_FILENO : nil,
                    onStarted: {
                        guard tty else { return }
                        resize()
                        signal(SIGWINCH, SIG_IGN)
                        let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
                        source.setEventHandler { resize() }
                        source.resume()
                        resizes = source
                    }
                ) { chunk in
                    if tty { writeAll(1, chunk) } else { demuxer.feed(chunk) }
                }
                guard started.status == 200 || started.status == 101 else {
                    throw ControllerError(.state, "cannot run a command in container \(name): \(DockerEngine.message(started))")
                }
                let inspected = try engine.request("GET", "/exec/\(exec)/json")
                guard let value = (try? JSONParser.parse(inspected.body))?["ExitCode"]?.intValue else {
                    throw ControllerError(.state, "the engine did not say how the command in container \(name) ended")
                }
                return value
            }
        } catch let error as ControllerError {
            throw error
        } catch {
            throw ControllerError(.io, "Docker engine error while running a command in container \(name): \(error)")
        }
    }

    /// Writes all of `bytes` to `fd` (stops at an error: a closed pipe).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, base + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    // MARK: Process runtime

    static func processExec(_ command: [String], pid: pid_t, name: String, tty: Bool) async throws(ControllerError) -> Int {
        var environment = Self.environment(of: pid)
        let pathVariable = environment.last(where: { $0.0 == "PATH" })?.1 ?? "/usr/local/bin:/usr/bin:/bin"
        var argv = command
        var workingDirectory: String? = Self.link("/proc/\(pid)/cwd")
        if let theirs = Self.link("/proc/\(pid)/ns/mnt"), theirs != Self.link("/proc/self/ns/mnt") {
            // A container with volumes has a mount namespace of its own: enter it.
            guard let nsenter = ExecutableLookup.find("nsenter", path: "/usr/bin:/bin:/usr/sbin:/sbin") else {
                throw ControllerError(.io, "container \(name) has its own mount namespace and nsenter (util-linux) is not installed")
            }
            argv = [nsenter, "--target", String(pid), "--mount", "--wd", "--"] + argv
            workingDirectory = nil
        }
        guard var executable = ExecutableLookup.find(argv[0], path: pathVariable) else {
            throw ControllerError(.notFound, "\(argv[0]): not found in container \(name)'s PATH (\(pathVariable))")
        }
        if tty {
            // A terminal for the command: script(1) runs it on a pseudo-terminal of its own
            // (this one in raw mode meanwhile when it is one, its size followed), and exits with its code.
            guard let script = ExecutableLookup.find("script", path: "/usr/bin:/bin") else {
                throw ControllerError(.io, "exec -t in the process runtime needs script(1) (util-linux), which is not installed")
            }
            let line = ([executable] + argv.dropFirst()).map(Self.shellQuoted).joined(separator: " ")
            argv = [script, "-qefc", line, "/dev/null"]
            executable = script
            if !environment.contains(where: { $0.0 == "TERM" }), let term = ProcessInfo.processInfo.environment["TERM"] {
                environment.append(("TERM", term))
            }
        }
        let configuration = Configuration(
            executable: .path(FilePath(executable)), arguments: Arguments(Array(argv.dropFirst())),
            environment: .custom(environment.map { Array("\($0.0)=\($0.1)\0".utf8) }),
            workingDirectory: workingDirectory.map { FilePath($0) })
        do {
            let result = try await Subprocess.run(
                configuration, input: .currentStandardInput,
                output: .currentStandardOutput, error: .currentStandardError)
            switch result.terminationStatus {
            case let .exited(code): return Int(code)
            case let .signaled(signal): return 128 + Int(signal)
            }
        } catch {
            throw ControllerError(.io, "cannot run \(argv[0]) in container \(name): \(error)")
        }
    }

    /// `word` as one word for sh: in single quotes, its own single quotes closed and escaped.
    static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// A process's environment, from /proc (NUL-separated `NAME=value`).
    static func environment(of pid: pid_t) -> [(String, String)] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
        return data.split(separator: 0).compactMap { entry in
            let text = String(decoding: entry, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { return nil }
            return (String(text[..<eq]), String(text[text.index(after: eq)...]))
        }
    }

    static func link(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }
}

/// This process's terminal in raw mode (as `docker exec -it` puts it) while a command in a
/// container has a terminal of its own; `restore()` gives back its settings. Nil when the
/// descriptor is not a terminal.
final class RawTerminal {
    private let descriptor: Int32
    private var saved = termios()

    init?(_ descriptor: Int32) {
        guard isatty(descriptor) == 1, tcgetattr(descriptor, &saved) == 0 else { return nil }
        self.descriptor = descriptor
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(descriptor, TCSANOW, &raw)
    }

    func restore() {
        tcsetattr(descriptor, TCSANOW, &saved)
    }

    /// The size (rows, columns) of this process's terminal (stdin's or stdout's), if it has one.
    static func size() -> (Int, Int)? {
        var size = winsize()
        for fd in [STDIN_FILENO, STDOUT_FILENO] where ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 && size.ws_row > 0 {
            return (Int(size.ws_row), Int(size.ws_col))
        }
        return nil
    }
}
