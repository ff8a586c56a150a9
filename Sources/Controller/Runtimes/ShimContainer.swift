import Foundation
import ShimCore

#if canImport(Glibc)
import Glibc
#endif

/// A process-runtime container run by a detached shim (`fargate-local-shim DIR`). The
/// controller follows it through the shim's files: `pid` for signals and health checks,
/// `exit` for its end, and the log stream file (which the shim writes) for the console.
actor ShimContainer: RunningContainer {
    nonisolated let files: ShimFiles
    nonisolated let pid: pid_t
    nonisolated let startTime: UInt64
    nonisolated let plan: ProcessLaunchPlan?
    private var finished: ContainerExit?
    private var waiters: [CheckedContinuation<ContainerExit, Never>] = []

    init(files: ShimFiles, pid: pid_t, startTime: UInt64, plan: ProcessLaunchPlan?) {
        self.files = files
        self.pid = pid
        self.startTime = startTime
        self.plan = plan
    }

    nonisolated var runtimeID: String { String(pid) }

    /// The container process is still the one the shim started (pids get recycled).
    nonisolated var isSameProcessAlive: Bool {
        ProcStat.startTime(pid) == startTime && !ProcStat.hasExited(pid)
    }

    /// Spawns the shim and returns once the container runs (or failed to start).
    static func start(
        shim: ShimCommandLine, plan: ProcessLaunchPlan, directory: String, logFile: String,
        output: any ContainerOutputSink
    ) async throws(ContainerStartError) -> ShimContainer {
        let files = ShimFiles(directory: directory)
        DirectoryTree.remove(directory)
        do {
            guard DirectoryTree.make(directory) else {
                throw ControllerError(.io, "cannot create \(directory): \(String(cString: strerror(errno)))")
            }
            let spec = ShimSpec(
                executable: plan.executable, arguments: plan.arguments, workingDirectory: plan.workingDirectory, logFile: logFile, limits: plan.limits)
            guard FileBytes.writeAtomically(spec.encoded(), to: files.spec) else {
                throw ControllerError(.io, "cannot write \(files.spec): \(String(cString: strerror(errno)))")
            }
        } catch {
            throw ContainerStartError(kind: "CannotStartContainerError", detail: "cannot prepare \(directory): \(error.localizedDescription)")
        }
        LatencyTrace.mark("shim: directory and spec written")
        let offset = Self.fileSize(logFile)
        // The shim's notification pipe: close-on-exec from the start, so no other process
        // started meanwhile holds its write end (which would hide the shim's exit).
        var pipeFDs: [Int32] = [-1, -1]
        guard cPipe2(&pipeFDs, O_CLOEXEC) == 0 else {
            throw ContainerStartError(
                kind: "CannotStartContainerError", detail: "cannot create a pipe for the container's shim: \(String(cString: strerror(errno)))")
        }
        let (notify, notifyWrite) = (pipeFDs[0], pipeFDs[1])
        let shimPID: pid_t
        do {
            shimPID = try DetachedProcess.spawn(
                shim.executable, shim.arguments + [directory, "--notify-fd", "3"],
                environment: plan.environment + [("FARGATE_LOCAL_SHIM", "1")],
                log: directory + "/shim.log", passing: notifyWrite)
            close(notifyWrite)
        } catch {
            close(notify)
            close(notifyWrite)
            throw ContainerStartError(kind: "CannotStartContainerError", detail: "cannot start the container's shim: \(error)")
        }
        LatencyTrace.mark("shim: spawned")
        // Reap the shim while this controller lives (a dead controller's shims are reparented).
        DetachedProcess.reapInBackground(shimPID)
        // One byte once the container runs; the pipe's end if the shim exits first.
        let started =
            (try? await Blocking.run { () -> Bool in
                var p = pollfd(fd: notify, events: Int16(POLLIN), revents: 0)
                while true {
                    let n = poll(&p, 1, 30_000)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { return false }
                    var byte: UInt8 = 0
                    let r = read(notify, &byte, 1)
                    if r < 0 && errno == EINTR { continue }
                    return r == 1
                }
            }) ?? false
        LatencyTrace.mark("shim: container running")
        if started, let (pid, start) = files.readPID() {
            let container = ShimContainer(files: files, pid: pid, startTime: start, plan: plan)
            await container.follow(logFile: logFile, from: offset, notify: notify, output: output)
            return container
        }
        close(notify)
        if let exit = files.containerExit() {
            let reason = exit.reason ?? "the container could not be started"
            let kind = reason.split(separator: ":").first.map(String.init) ?? "CannotStartContainerError"
            let detail = reason.split(separator: ":", maxSplits: 1).dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? reason
            throw ContainerStartError(kind: kind, detail: detail)
        }
        throw ContainerStartError(kind: "CannotStartContainerError", detail: "the container's shim did not start it within 30 s (see \(directory)/shim.log)")
    }

    /// Echoes new lines of the log stream file to `output` until the container's exit is
    /// recorded. With `notify` (the shim's notification pipe, when this controller started
    /// the shim) the exit is known the moment the shim ends; without it (a re-adopted
    /// container) the exit file is polled.
    func follow(logFile: String, from offset: UInt64, notify: Int32? = nil, output: any ContainerOutputSink) {
        let files = self.files
        let (batches, continuation) = AsyncStream.makeStream(of: OutputBatch.self)
        let reader = Thread {
            var position = offset
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var shimEnded = false
            var done = false
            var idle = 0
            while true {
                let exited = shimEnded || files.containerExit() != nil
                let fd = open(logFile, O_RDONLY | O_CLOEXEC)
                if fd >= 0 {
                    while true {
                        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(position)) }
                        guard n > 0 else { break }
                        position += UInt64(n)
                        pending.append(contentsOf: buffer[0..<n])
                    }
                    close(fd)
                }
                // One pass over what was read; the unterminated rest is kept for the next read.
                var lines: [String] = []
                var stamps: [Int64] = []
                var start = 0
                while let newline = pending[start...].firstIndex(of: 0x0A) {
                    let row = pending[start..<newline]
                    start = newline + 1
                    guard let tab = row.firstIndex(of: 0x09) else { continue }
                    stamps.append(Int64(String(decoding: row[row.startIndex..<tab], as: UTF8.self)) ?? 0)
                    lines.append(String(decoding: row[(tab + 1)...], as: UTF8.self))
                }
                if start > 0 { pending.removeFirst(start) }
                if !lines.isEmpty { continuation.yield(OutputBatch(source: .stdout, timestamps: stamps, lines: lines)) }
                if done { break }
                if exited {
                    done = true
                    continue
                }  // one more read after the exit is recorded
                // Poll fast while output flows or the container is young; back off to 50 ms
                // when idle. The shim's end wakes the wait at once.
                idle = lines.isEmpty ? idle + 1 : 0
                let wait = Int32(min(1 << min(idle, 6), 50))
                if let notify {
                    var p = pollfd(fd: notify, events: Int16(POLLIN), revents: 0)
                    if poll(&p, 1, wait) > 0 {
                        var byte: UInt8 = 0
                        if read(notify, &byte, 1) == 0 { shimEnded = true }
                    }
                } else {
                    usleep(UInt32(wait) * 1000)
                }
            }
            if let notify { close(notify) }
            continuation.finish()
        }
        reader.stackSize = 1 << 20
        reader.start()
        Task {
            for await batch in batches { await output.receive(batch) }
            if let exit = files.containerExit() {
                finish(exit)
            } else {
                // The shim ended without recording an exit (it was killed): its container
                // has lost its log pipes, so it is stopped too.
                if isSameProcessAlive { kill(-pid, SIGKILL) }
                finish(ContainerExit(exitCode: 255, reason: "the container's shim exited without recording an exit code"))
            }
        }
    }

    /// Follows a container whose controller died: when its process is gone and no exit was
    /// recorded, it is reported lost.
    func followAdopted(logFile: String, output: any ContainerOutputSink) {
        let files = self.files
        let size = ShimContainer.fileSize(logFile)
        Task.detached { [self] in
            while files.containerExit() == nil {
                if !isSameProcessAlive, files.containerExit() == nil {
                    try? await Task.sleep(for: .milliseconds(200))
                    if files.containerExit() == nil {
                        await self.finish(ContainerExit(exitCode: 255, reason: "the container's shim exited without recording an exit code"))
                        return
                    }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
            await self.follow(logFile: logFile, from: size, output: output)
        }
    }

    private func finish(_ exit: ContainerExit) {
        guard finished == nil else { return }
        finished = exit
        for w in waiters { w.resume(returning: exit) }
        waiters = []
    }

    func exit() async -> ContainerExit {
        if let finished { return finished }
        return await withCheckedContinuation { waiters.append($0) }
    }

    nonisolated func stop(timeout: Duration) async {
        guard isSameProcessAlive else { return }
        kill(-pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if files.containerExit() != nil || !isSameProcessAlive { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if isSameProcessAlive { kill(-pid, SIGKILL) }
    }

    nonisolated func runHealthCheck(_ command: [String], environment: [(String, String)], timeout: Duration) async -> Bool {
        guard let plan else { return false }
        return await ProcessContainer.healthCheck(command, environment: environment, timeout: timeout, plan: plan, containerPID: pid)
    }

    static func fileSize(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
    }
}

extension ShimFiles {
    /// The exit the shim recorded, if it has.
    func containerExit() -> ContainerExit? {
        readExit().map { ContainerExit(exitCode: $0.code, reason: $0.reason, lostLogLines: readLostLines()) }
    }
}

/// How to start a shim: the small `fargate-local-shim` beside `fargate-local` (a few
/// milliseconds to start), else `fargate-local shim`.
public struct ShimCommandLine: Sendable {
    public var executable: String
    public var arguments: [String]

    /// The shim for the `fargate-local` executable at `fargateLocal`.
    public init(fargateLocal: String) {
        let sibling = (fargateLocal as NSString).deletingLastPathComponent + "/fargate-local-shim"
        if access(sibling, X_OK) == 0 {
            executable = sibling
            arguments = []
        } else {
            executable = fargateLocal
            arguments = ["shim"]
        }
    }
}

extension ProcessRuntime {
    /// Finds a task's shim-run containers again: still running (same pid and start time),
    /// or exited with the code their shim recorded.
    public func adopt(taskID: String, since: [String: LogResumePoint], output: @Sendable (String) -> any ContainerOutputSink) async -> [String:
        AdoptedContainer]?
    {
        guard shim != nil, let state = stateDirectory else { return nil }
        let root = state.appendingPathComponent("tasks/\(taskID)/run").path
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [:] }
        var adopted: [String: AdoptedContainer] = [:]
        for name in names {
            let files = ShimFiles(directory: root + "/" + name)
            if let exit = files.containerExit() {
                adopted[name] = .exited(exit)
            } else if let (pid, start) = files.readPID(), let spec = files.readSpec() {
                let container = ShimContainer(files: files, pid: pid, startTime: start, plan: nil)
                if container.isSameProcessAlive {
                    await container.followAdopted(logFile: spec.logFile, output: output(name))
                    adopted[name] = .running(container)
                }
            }
        }
        return adopted
    }
}

/// Starts a process in a session of its own (it survives its parent), stdin from
/// /dev/null, stdout and stderr appended to `log`.
public enum DetachedProcess {
    /// `passing`: a descriptor the process gets as fd 3.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [(String, String)], log: String,
        passing: Int32? = nil
    ) throws(ControllerError) -> pid_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, 0x80)  // POSIX_SPAWN_SETSID, which Swift does not import
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let passing { posix_spawn_file_actions_adddup2(&actions, passing, 3) }
        // Nothing else is inherited: not this process's listening sockets (SwiftNIO's are not
        // close-on-exec), which would keep its ports bound for as long as the child lives.
        _ = spawnActionsCloseFrom(&actions, passing == nil ? 3 : 4)
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.0)=\($0.1)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, &argv, &envp)
        guard rc == 0 else { throw ControllerError(.io, "cannot start \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Waits for `pid` on a small thread of its own, so it leaves no zombie while this process lives.
    public static func reapInBackground(_ pid: pid_t) {
        let thread = Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        thread.stackSize = 64 << 10
        thread.start()
    }
}

/// glibc's pipe2, which Swift's Glibc module does not import (it needs _GNU_SOURCE).
@_silgen_name("pipe2")
private func cPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+): the child closes every
/// descriptor from `from` up. Swift's Glibc module does not import it.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
func spawnActionsCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
