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

/// Runs each container as a host subprocess in its own process group, with its
/// output drained concurrently. Volumes are bind-mounted in a private mount
/// namespace (`unshare --mount`), which needs root.
public struct ProcessRuntime: ContainerRuntime {
    public let name = "process"
    /// The shim that runs each container detached from the controller (so it survives a
    /// controller crash), found from the `fargate-local` executable; nil runs containers
    /// as direct children of this process.
    public let shim: ShimCommandLine?
    /// The state directory, where shims keep their files (`tasks/<id>/run/<container>`).
    public let stateDirectory: URL?

    /// `shimExecutable`: the `fargate-local` executable (its `fargate-local-shim` sibling is preferred).
    public init(shimExecutable: String? = nil, stateDirectory: URL? = nil) {
        shim = shimExecutable.map { ShimCommandLine(fargateLocal: $0) }
        self.stateDirectory = stateDirectory
    }

    public var writesLogStreams: Bool { shim != nil }

    public func start(_ launch: ContainerLaunch, output: any ContainerOutputSink) async throws(ContainerStartError) -> any RunningContainer {
        let plan = try ProcessLaunchPlan.make(for: launch)
        if let shim, let directory = launch.runDirectory, let logFile = launch.logFile {
            return try await ShimContainer.start(shim: shim, plan: plan, directory: directory, logFile: logFile, output: output)
        }
        let container = ProcessContainer(plan: plan)
        let configuration = plan.configuration()
        Task.detached {
            await container.runToEnd(configuration, output: output)
        }
        let pid = try await container.waitUntilStarted()
        return ProcessContainerHandle(pid: pid, container: container)
    }
}

/// The handle `ProcessRuntime.start` returns: the pid is known once started.
struct ProcessContainerHandle: RunningContainer {
    let pid: pid_t
    let container: ProcessContainer

    var runtimeID: String { String(pid) }
    func exit() async -> ContainerExit { await container.exit() }
    func stop(timeout: Duration) async { await container.stop(timeout: timeout) }
    func runHealthCheck(_ command: [String], environment: [(String, String)], timeout: Duration) async -> Bool {
        await container.runHealthCheck(command, environment: environment, timeout: timeout)
    }
}

/// The resolved command line of a process container: the executable, its arguments,
/// and the mount-namespace wrapper when the container has volumes.
struct ProcessLaunchPlan: Sendable {
    var executable: String
    var arguments: [String]
    var environment: [(String, String)]
    var workingDirectory: String?
    var usesMountNamespace: Bool
    /// The container's ulimits, and Fargate's nofile (65535) when it sets none; hard limits
    /// no higher than this host's (the shim applies them).
    var limits: [ResourceLimit] = []

    /// The resource limits a container gets, as Fargate gives them.
    static func resourceLimits(of definition: ContainerDefinition?) -> [ResourceLimit] {
        var ulimits = definition?.ulimits ?? []
        if !ulimits.contains(where: { $0.name == "nofile" }) {
            ulimits.append(Ulimit(name: "nofile", softLimit: DockerRuntime.fargateNofile, hardLimit: DockerRuntime.fargateNofile))
        }
        return ulimits.compactMap { u in
            guard let current = ResourceLimit.currentHard(u.name) else { return nil }
            let hard = min(u.hardLimit, current)
            return ResourceLimit(name: u.name, soft: min(u.softLimit, hard), hard: hard)
        }
    }

    static func make(for launch: ContainerLaunch) throws(ContainerStartError) -> ProcessLaunchPlan {
        var plan = try makeCommand(for: launch)
        plan.limits = resourceLimits(of: launch.definition)
        return plan
    }

    private static func makeCommand(for launch: ContainerLaunch) throws(ContainerStartError) -> ProcessLaunchPlan {
        guard let argv0 = launch.arguments.first, !argv0.isEmpty else {
            throw ContainerStartError(
                kind: "CannotStartContainerError",
                detail:
                    "container \(launch.containerName) has no command to run: set entryPoint or command, or map its image to a host executable with --image-map IMAGE=EXECUTABLE"
            )
        }
        let pathVariable =
            launch.environment.last(where: { $0.0 == "PATH" })?.1
            ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let insideMount = launch.mounts.contains { argv0.hasPrefix($0.containerPath.hasSuffix("/") ? $0.containerPath : $0.containerPath + "/") }
        var resolved = argv0
        if !insideMount {
            guard let found = ExecutableLookup.find(argv0, path: pathVariable) else {
                throw ContainerStartError(
                    kind: "CannotStartContainerError",
                    detail:
                        "container \(launch.containerName): executable \"\(argv0)\" was not found\(argv0.contains("/") ? "" : " in PATH") or is not executable")
            }
            resolved = found
        }
        var workingDirectory = launch.workingDirectory
        if launch.mounts.isEmpty {
            if let wd = workingDirectory {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: wd, isDirectory: &isDir), isDir.boolValue else {
                    throw ContainerStartError(
                        kind: "CannotStartContainerError",
                        detail: "container \(launch.containerName): workingDirectory \"\(wd)\" does not exist on this host")
                }
            }
            return ProcessLaunchPlan(
                executable: resolved, arguments: Array(launch.arguments.dropFirst()),
                environment: launch.environment, workingDirectory: workingDirectory,
                usesMountNamespace: false)
        }
        guard geteuid() == 0 else {
            let m = launch.mounts[0]
            throw ContainerStartError(
                kind: "ResourceInitializationError",
                detail:
                    "failed to mount volume at \(m.containerPath) (host folder \(m.hostPath)) for container \(launch.containerName): the process runtime bind-mounts volumes in a private mount namespace, which needs root; run as root or use --runtime docker"
            )
        }
        guard let unshare = ExecutableLookup.find("unshare", path: "/usr/bin:/bin:/usr/sbin:/sbin") else {
            throw ContainerStartError(
                kind: "ResourceInitializationError",
                detail: "failed to mount volumes for container \(launch.containerName): the unshare command (util-linux) is not installed")
        }
        // sh -c SCRIPT sh WORKDIR SRC DST MODE ... -- COMMAND...
        let script = """
            set -e
            wd=$1; shift
            while [ "$1" != "--" ]; do
              mkdir -p "$2"
              mount --bind "$1" "$2"
              if [ "$3" = ro ]; then mount -o remount,bind,ro "$2"; fi
              shift 3
            done
            shift
            if [ -n "$wd" ]; then cd "$wd"; fi
            exec "$@"
            """
        var args = ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", workingDirectory ?? ""]
        for m in launch.mounts {
            args += [m.hostPath, m.containerPath, m.readOnly ? "ro" : "rw"]
        }
        args.append("--")
        args.append(resolved)
        args += launch.arguments.dropFirst()
        workingDirectory = nil
        return ProcessLaunchPlan(
            executable: unshare, arguments: args, environment: launch.environment,
            workingDirectory: nil, usesMountNamespace: true)
    }

    func configuration() -> Configuration {
        var options = PlatformOptions()
        options.processGroupID = 0
        return Configuration(
            executable: .path(FilePath(executable)),
            arguments: Arguments(arguments),
            environment: .custom(environment.map { Array("\($0.0)=\($0.1)\0".utf8) }),
            workingDirectory: workingDirectory.map { FilePath($0) },
            platformOptions: options)
    }
}

/// One running process container. The actor owns its lifecycle state.
actor ProcessContainer {
    private enum State {
        case starting
        case running(pid_t)
        case exited(ContainerExit)
    }

    private let plan: ProcessLaunchPlan
    private var state: State = .starting
    private var startWaiters: [CheckedContinuation<Result<pid_t, ContainerStartError>, Never>] = []
    private var exitWaiters: [CheckedContinuation<ContainerExit, Never>] = []
    private var startFailure: ContainerStartError?
    private var startedPID: pid_t = 0

    init(plan: ProcessLaunchPlan) { self.plan = plan }

    /// Waits until the process runs (or ran: a fast exit still counts as started) and returns its pid.
    func waitUntilStarted() async throws(ContainerStartError) -> pid_t {
        let result: Result<pid_t, ContainerStartError>
        switch state {
        case let .running(pid): result = .success(pid)
        case .exited:
            if let failure = startFailure { result = .failure(failure) } else { result = .success(startedPID) }
        case .starting:
            result = await withCheckedContinuation { startWaiters.append($0) }
        }
        return try result.get()
    }

    /// The pid of the process group leader while it runs.
    var pid: pid_t? {
        if case let .running(pid) = state { return pid }
        return nil
    }

    func exit() async -> ContainerExit {
        if case let .exited(e) = state { return e }
        return await withCheckedContinuation { exitWaiters.append($0) }
    }

    func stop(timeout: Duration) async {
        guard case let .running(pid) = state else { return }
        kill(-pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if case .exited = state { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if case let .running(pid) = state { kill(-pid, SIGKILL) }
    }

    func runHealthCheck(_ command: [String], environment: [(String, String)], timeout: Duration) async -> Bool {
        var namespacePID: pid_t?
        if case let .running(pid) = state { namespacePID = pid }
        return await Self.healthCheck(command, environment: environment, timeout: timeout, plan: plan, containerPID: namespacePID)
    }

    /// Runs a health check command with the container's environment (inside its mount namespace when it has one).
    static func healthCheck(
        _ command: [String], environment: [(String, String)], timeout: Duration,
        plan: ProcessLaunchPlan, containerPID: pid_t?
    ) async -> Bool {
        guard let first = command.first, command.count >= 2 else { return false }
        var argv = first == "CMD-SHELL" ? ["/bin/sh", "-c", command[1...].joined(separator: " ")] : Array(command.dropFirst())
        if plan.usesMountNamespace, let pid = containerPID,
            let nsenter = ExecutableLookup.find("nsenter", path: "/usr/bin:/bin:/usr/sbin:/sbin")
        {
            argv = [nsenter, "--target", String(pid), "--mount", "--"] + argv
        }
        let pathVariable = environment.last(where: { $0.0 == "PATH" })?.1 ?? "/usr/bin:/bin"
        guard let exe = ExecutableLookup.find(argv[0], path: pathVariable) else { return false }
        var options = PlatformOptions()
        options.processGroupID = 0
        let configuration = Configuration(
            executable: .path(FilePath(exe)), arguments: Arguments(Array(argv.dropFirst())),
            environment: .custom(environment.map { Array("\($0.0)=\($0.1)\0".utf8) }),
            workingDirectory: plan.usesMountNamespace ? nil : plan.workingDirectory.map { FilePath($0) },
            platformOptions: options)
        do {
            let result = try await Subprocess.run(configuration, input: .none, output: .discarded, error: .discarded) { execution -> Bool in
                let child = execution.processIdentifier.value
                let deadline = ContinuousClock.now + timeout
                while !ProcStat.hasExited(child) {
                    if ContinuousClock.now >= deadline {
                        kill(-child, SIGKILL)
                        return false
                    }
                    try? await Task.sleep(for: .milliseconds(25))
                }
                return true
            }
            return result.closureResult && result.terminationStatus.isSuccess
        } catch {
            return false
        }
    }

    // MARK: - Driving the process

    func runToEnd(_ configuration: Configuration, output: any ContainerOutputSink) async {
        do {
            let result = try await Subprocess.run(configuration, input: .none, output: .sequence, error: .sequence) { execution in
                let pid = execution.processIdentifier.value
                self.markStarted(pid)
                let stdout = execution.standardOutput
                let stderr = execution.standardError
                await withTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        await LineSplitter.drain(stdout, source: .stdout, into: output)
                        return true
                    }
                    group.addTask {
                        await LineSplitter.drain(stderr, source: .stderr, into: output)
                        return true
                    }
                    group.addTask {
                        // A container ends when its main process does: whatever it left
                        // behind in its group is killed, as Docker does, so the pipes close.
                        while !Task.isCancelled {
                            if ProcStat.hasExited(pid) {
                                kill(-pid, SIGKILL)
                                return false
                            }
                            try? await Task.sleep(for: .milliseconds(100))
                        }
                        return false
                    }
                    var drained = 0
                    while let finished = await group.next() {
                        if finished {
                            drained += 1
                            if drained == 2 { group.cancelAll() }
                        }
                    }
                }
            }
            let code: Int
            switch result.terminationStatus {
            case let .exited(c): code = Int(c)
            case let .signaled(s): code = 128 + Int(s)
            }
            finish(ContainerExit(exitCode: code))
        } catch {
            if case .starting = state {
                failStart(ContainerStartError(kind: "CannotStartContainerError", detail: "\(error)"))
            } else {
                finish(ContainerExit(exitCode: 255, reason: "fargate-local lost track of the process: \(error)"))
            }
        }
    }

    private func markStarted(_ pid: pid_t) {
        startedPID = pid
        state = .running(pid)
        for w in startWaiters { w.resume(returning: .success(pid)) }
        startWaiters = []
    }

    private func failStart(_ error: ContainerStartError) {
        startFailure = error
        state = .exited(ContainerExit(exitCode: 255, reason: error.description))
        for w in startWaiters { w.resume(returning: .failure(error)) }
        startWaiters = []
        for w in exitWaiters { w.resume(returning: ContainerExit(exitCode: 255, reason: error.description)) }
        exitWaiters = []
    }

    private func finish(_ exit: ContainerExit) {
        state = .exited(exit)
        for w in startWaiters { w.resume(returning: .success(startedPID)) }
        startWaiters = []
        for w in exitWaiters { w.resume(returning: exit) }
        exitWaiters = []
    }
}
