import ECSModel
import Foundation

/// Everything a runtime needs to start one container of a task.
public struct ContainerLaunch: Sendable {
    public var taskID: String
    public var containerName: String
    /// `entryPoint` + `command`, with argv[0] resolved to an executable.
    public var arguments: [String]
    public var environment: [(String, String)]
    public var workingDirectory: String?
    public var mounts: [BindMount]
    /// What an image-based runtime needs: the image, ECS's entryPoint and command
    /// (nil keeps the image's own), the container definition, labels and task limits.
    public var image: String?
    public var entryPoint: [String]?
    public var command: [String]?
    public var definition: ContainerDefinition?
    public var labels: [String: String] = [:]
    public var taskCPU: Int?
    public var taskMemoryMiB: Int?
    /// Where a runtime may keep per-container state (the process runtime's shim files).
    public var runDirectory: String?
    /// The container's awslogs stream file (for runtimes that write it themselves).
    public var logFile: String?
    /// Container ports (of every container of the task) to publish on 127.0.0.1, with their host ports.
    public var publishedPorts: [(containerPort: Int, hostPort: Int, protocol: String)] = []
    /// How many containers the task has (a task of one needs no separate network holder).
    public var taskContainerCount = 1
    /// The task's cgroup (Docker's `CgroupParent`), set by the Docker runtime.
    public var cgroupParent: String?
    /// `repositoryCredentials` resolved for a pull (Docker's `X-Registry-Auth`); never logged.
    public var registryAuth: String?
    /// `pidMode: task`: the task's containers share one PID namespace.
    public var sharesTaskPIDNamespace = false
    /// The `net.*` systemControls of every container of the task, later ones winning (as on
    /// ECS, in awsvpc they apply to the whole task): set where its network namespace is held.
    public var taskNetworkSysctls: [(key: String, value: String)] = []
    /// The image platform the task's runtimePlatform asks for (`linux/amd64`, `linux/arm64`).
    public var imagePlatform: String?
    /// Told when an image is pulled (the engine did not have it): a line for the task's
    /// console before the pull and one after it.
    public var reportPull: (@Sendable (String) -> Void)?
    /// The image was made ready with the task's others (`prepareImages`): no need to look again.
    public var imagePrepared = false

    public init(
        taskID: String, containerName: String, arguments: [String], environment: [(String, String)],
        workingDirectory: String?, mounts: [BindMount]
    ) {
        self.taskID = taskID
        self.containerName = containerName
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.mounts = mounts
    }
}

/// A host directory made visible to a container at `containerPath`.
public struct BindMount: Sendable, Equatable, Codable {
    public var hostPath: String
    public var containerPath: String
    public var readOnly: Bool
    /// The ECS volume's name when it is the task's scratch space (no host, no EFS): the
    /// Docker runtime gives it a Docker volume of the task's instead of the host folder.
    public var scratchVolume: String?

    public init(hostPath: String, containerPath: String, readOnly: Bool, scratchVolume: String? = nil) {
        self.hostPath = hostPath
        self.containerPath = containerPath
        self.readOnly = readOnly
        self.scratchVolume = scratchVolume
    }
}

/// How a container ended: the exit code (128+N for death by signal N) and, when ECS would give one, a reason.
public struct ContainerExit: Sendable, Equatable {
    public var exitCode: Int
    public var reason: String?
    /// Lines of the container's output its runtime could not write to the log stream (its
    /// disk full, say); 0 when none were lost.
    public var lostLogLines: Int

    public init(exitCode: Int, reason: String? = nil, lostLogLines: Int = 0) {
        self.exitCode = exitCode
        self.reason = reason
        self.lostLogLines = lostLogLines
    }
}

/// Why a container could not start; the message becomes the task's stoppedReason.
public struct ContainerStartError: Error, Sendable, CustomStringConvertible {
    /// ECS's prefix: `CannotStartContainerError`, `ResourceInitializationError`, `CannotPullContainerError`.
    public let kind: String
    public let detail: String
    /// The image whose pull failed (CannotPullContainerError): the containers of that image
    /// carry the error as their `reason`, as ECS reports a failed pull on the container too.
    public let image: String?

    public init(kind: String, detail: String, image: String? = nil) {
        self.kind = kind
        self.detail = detail
        self.image = image
    }

    public var description: String { "\(kind): \(detail)" }
}

/// Where a container's stored log stream ends: the time of its last line and how many of
/// its lines carry that same millisecond. A re-adopted container's output is read again
/// from that millisecond on, and the lines of it already stored are skipped: none lost,
/// none twice.
public struct LogResumePoint: Sendable, Equatable {
    public var milliseconds: Int64
    public var linesAtThatMillisecond: Int

    public init(milliseconds: Int64, linesAtThatMillisecond: Int) {
        self.milliseconds = milliseconds
        self.linesAtThatMillisecond = linesAtThatMillisecond
    }

    /// The resume point of a stream's lines (oldest first); nil when it has none.
    public init?(lines: [LogEvent]) {
        guard let last = lines.last?.timestamp else { return nil }
        milliseconds = last
        linesAtThatMillisecond = lines.reversed().prefix { $0.timestamp == last }.count
    }
}

/// Output of a container: a batch of complete lines from one of its pipes.
public struct OutputBatch: Sendable {
    /// The pipe the lines came from.
    public enum Source: String, Sendable { case stdout, stderr }
    public var source: Source
    /// Milliseconds since the epoch at which each line was read.
    public var timestamps: [Int64]
    public var lines: [String]
}

/// Receives a container's output as it is produced.
public protocol ContainerOutputSink: Sendable {
    func receive(_ batch: OutputBatch) async
}

/// One way to run containers: host subprocesses, or (later) Docker containers.
public protocol ContainerRuntime: Sendable {
    /// `process` or `docker`.
    var name: String { get }
    /// Starts a container; returns once it runs, or throws why it could not start.
    func start(_ launch: ContainerLaunch, output: any ContainerOutputSink) async throws(ContainerStartError) -> any RunningContainer
    /// True when the runtime writes the log stream files itself.
    var writesLogStreams: Bool { get }
    /// Removes what the runtime created for a stopped task.
    func cleanUp(taskID: String) async
    /// Starts an exited container again (its restartPolicy): Docker starts the same
    /// container; the process runtime starts `launch` anew. Output goes on to the same stream.
    func restart(_ container: any RunningContainer, launch: ContainerLaunch, output: any ContainerOutputSink) async throws(ContainerStartError)
        -> any RunningContainer
    /// Where every task of this runtime is on the network before it starts, when that is
    /// fixed (host processes: 127.0.0.1); nil when each task gets its own address.
    var sharedNetworkInterface: TaskNetworkInterface? { get }
    /// The task's network interface once `container` (its first) runs: the address its
    /// containers have, as ECS gives it in the task's ENI attachment. Nil when unknown.
    func networkInterface(of container: any RunningContainer) async -> TaskNetworkInterface?
    /// Finds a task's containers again after a controller restart; each container's output
    /// goes on from where its stored stream ends (`since`, by container name).
    func adopt(taskID: String, since: [String: LogResumePoint], output: @Sendable (String) -> any ContainerOutputSink) async -> [String: AdoptedContainer]?
    /// Makes every launch's image ready before any container starts, as the ECS agent pulls
    /// a task's images while it is PENDING: a missing image fails the task before anything
    /// ran. The process runtime has nothing to pull.
    func prepareImages(for launches: [ContainerLaunch]) async throws(ContainerStartError)
    /// Which of `images` (each for its platform, `linux/amd64`) the runtime would have to
    /// pull; empty when all are there (and always for host processes).
    func missingImages(_ images: [(image: String, platform: String?)]) async -> Set<String>
    /// The digest of the image a started container runs (DescribeTasks' `imageDigest`);
    /// nil when there is none (a host process).
    func imageDigest(for launch: ContainerLaunch) async -> String?
}

/// Where a task is on the network: its containers' address (and the MAC of its interface).
public struct TaskNetworkInterface: Sendable, Equatable {
    public var ipv4Address: String
    public var macAddress: String?

    public init(ipv4Address: String, macAddress: String? = nil) {
        self.ipv4Address = ipv4Address
        self.macAddress = macAddress
    }
}

/// A container found again after a controller restart: still running, or already exited.
public enum AdoptedContainer: Sendable {
    case running(any RunningContainer)
    case exited(ContainerExit)
}

extension ContainerRuntime {
    /// True when the runtime appends container output to the log stream files itself; the
    /// supervisor then only echoes it to the console.
    public var writesLogStreams: Bool { false }

    /// Removes what the runtime created for a stopped task (Docker containers, the pause container).
    public func cleanUp(taskID: String) async {}

    /// By default there are no images to prepare (host processes).
    public func prepareImages(for launches: [ContainerLaunch]) async throws(ContainerStartError) {}

    /// By default a container has no image digest.
    public func imageDigest(for launch: ContainerLaunch) async -> String? { nil }

    /// By default no image is missing.
    public func missingImages(_ images: [(image: String, platform: String?)]) async -> Set<String> { [] }

    /// A new process for the same launch.
    public func restart(_ container: any RunningContainer, launch: ContainerLaunch, output: any ContainerOutputSink) async throws(ContainerStartError)
        -> any RunningContainer
    {
        try await start(launch, output: output)
    }

    /// Host processes share the host's network: every task is at 127.0.0.1.
    public var sharedNetworkInterface: TaskNetworkInterface? { TaskNetworkInterface(ipv4Address: "127.0.0.1") }

    /// By default every container has the runtime's shared interface.
    public func networkInterface(of container: any RunningContainer) async -> TaskNetworkInterface? { sharedNetworkInterface }

    /// Finds a task's containers again after a controller restart, by container name;
    /// nil when this runtime cannot (process containers die with their pipes).
    /// `since` (ms since the epoch) is the newest log line already captured per container.
    public func adopt(taskID: String, since: [String: LogResumePoint], output: @Sendable (String) -> any ContainerOutputSink) async -> [String:
        AdoptedContainer]?
    { nil }
}

/// A started container. Valid until `exit()` returns.
public protocol RunningContainer: Sendable {
    /// The runtime's id: a pid for processes, a container id for Docker.
    var runtimeID: String { get }
    /// Waits for the container to end.
    func exit() async -> ContainerExit
    /// SIGTERM, then SIGKILL if it is still running after `timeout`.
    func stop(timeout: Duration) async
    /// Runs a health check command inside the container's context; true when it exits 0 within `timeout`.
    func runHealthCheck(_ command: [String], environment: [(String, String)], timeout: Duration) async -> Bool
    /// The container's health as its runtime's own health check reports it (Docker's), or
    /// nil when the supervisor is to probe with `runHealthCheck`.
    var nativeHealth: AsyncStream<HealthStatus>? { get }
}

extension RunningContainer {
    public var nativeHealth: AsyncStream<HealthStatus>? { nil }
}
