import ECSModel
import Foundation
import ShimCore
import Synchronization

/// Settings shared by everything the controller does.
public struct ControllerConfiguration: Sendable {
    /// Where state, logs and volumes live (`--state-dir`, `FARGATE_LOCAL_HOME`, `~/.fargate-local`).
    public var stateDirectory: URL
    public var region: String
    public var cluster: String
    /// Base URL of the controller's endpoints, as containers see it.
    public var endpointBaseURL: String
    /// Where secrets, environment files and task roles are fetched (e.g. a local moto); nil for AWS.
    public var awsEndpoint: String?

    /// The settings of a controller whose state is kept in `stateDirectory`.
    public init(
        stateDirectory: URL, region: String = "us-east-1", cluster: String = "default",
        endpointBaseURL: String = "http://127.0.0.1:8790", awsEndpoint: String? = nil
    ) {
        self.stateDirectory = stateDirectory
        self.region = region
        self.cluster = cluster
        self.endpointBaseURL = endpointBaseURL
        self.awsEndpoint = awsEndpoint
    }
}

/// The controller: registers task definitions, creates tasks and supervises them.
public final class TaskController: Sendable {
    public let configuration: ControllerConfiguration
    public let store: StateStore
    public let logs: LogStore
    public let arns: ARNFactory
    private let endpoint: Mutex<String>

    /// Base URL of the metadata and credentials endpoints that new tasks are given.
    public var endpointBaseURL: String {
        endpoint.withLock { $0 }
    }

    /// Points new tasks at the server that actually listens (its port is known only once bound).
    public func setEndpointBaseURL(_ url: String) { endpoint.withLock { $0 = url } }

    /// Opens the state in the configuration's directory, or uses `store` if already opened there.
    public init(configuration: ControllerConfiguration, store opened: StateStore? = nil) throws {
        self.configuration = configuration
        endpoint = Mutex(configuration.endpointBaseURL)
        store = try opened ?? StateStore(directory: configuration.stateDirectory)
        logs = try LogStore(root: configuration.stateDirectory.appendingPathComponent("logs", isDirectory: true))
        arns = ARNFactory(region: configuration.region)
    }

    /// Registers a validated task definition; with `reuseIdentical`, an unchanged file keeps its revision.
    public func register(_ loaded: LoadedTaskDefinition, reuseIdentical: Bool) async throws -> TaskDefinition {
        guard let definition = loaded.definition, let document = loaded.document, loaded.isValid else {
            let first = loaded.diagnostics.errors.first.map(\.description) ?? "invalid task definition"
            throw ControllerError(.invalidInput, first)
        }
        return try await store.register(definition, document: document, arns: arns, reuseIdentical: reuseIdentical)
    }

    /// Creates a task in PROVISIONING and saves it; `supervise` then runs it.
    public func createTask(definition: TaskDefinition, overrides: TaskOverride, options: RunOptions, cluster requestedCluster: String? = nil) async throws
        -> TaskRecord
    {
        if definition.platform.isWindows {
            throw ControllerError(
                .unsupportedPlatform,
                "Task definition \(definition.family):\(definition.revision ?? 0) asks for runtimePlatform.operatingSystemFamily \(definition.platform.osFamily); fargate-local runs Linux containers only, so it cannot run this task."
            )
        }
        for (i, o) in (overrides.containerOverrides ?? []).enumerated() {
            guard let name = o.name, definition.containerDefinitions.contains(where: { $0.name == name }) else {
                throw ControllerError(
                    .invalidInput,
                    "overrides.containerOverrides[\(i)].name: container \"\(o.name ?? "")\" does not exist in task definition \(definition.family):\(definition.revision ?? 0)"
                )
            }
        }
        let id = ARNFactory.newTaskID()
        let cluster = requestedCluster ?? configuration.cluster
        let taskArn = arns.task(cluster: cluster, id: id)
        let containers = definition.containerDefinitions.map { c in
            var container = Container(
                containerArn: arns.container(cluster: cluster, taskID: id, containerID: ARNFactory.newUUID()),
                taskArn: taskArn, name: c.name ?? "", image: c.image)
            let o = overrides.container(c.name ?? "")
            container.cpu = (o?.cpu ?? c.cpu).map(String.init) ?? "0"
            container.memory = (o?.memory ?? c.memory).map(String.init)
            container.memoryReservation = (o?.memoryReservation ?? c.memoryReservation).map(String.init)
            // ECS reports UNKNOWN until a health check says otherwise, and for a container
            // without one, always.
            container.healthStatus = .unknown
            container.networkBindings = []
            if options.enableExecuteCommand == true {
                container.managedAgents = [ManagedAgent(name: ManagedAgent.executeCommand, lastStatus: "PENDING")]
            }
            return container
        }
        var task = ECSTask(
            taskArn: taskArn, clusterArn: arns.cluster(cluster),
            taskDefinitionArn: definition.taskDefinitionArn ?? arns.taskDefinition(family: definition.family, revision: definition.revision ?? 1),
            containers: containers, overrides: overrides)
        task.cpu = overrides.cpu ?? definition.cpu.flatMap(ResourceSize.cpuUnits).map(String.init)
        task.memory = overrides.memory ?? definition.memory.flatMap(ResourceSize.memoryMiB).map(String.init)
        task.enableExecuteCommand = options.enableExecuteCommand ?? false
        task.platformVersion = "1.4.0"
        task.platformFamily = "Linux"
        task.availabilityZone = "\(configuration.region)a"
        task.group = options.group ?? "family:\(definition.family)"
        task.startedBy = options.startedBy
        task.createdAt = Date()
        task.ephemeralStorage = overrides.ephemeralStorage ?? definition.ephemeralStorage ?? EphemeralStorage(sizeInGiB: 20)
        task.fargateEphemeralStorage = task.ephemeralStorage
        task.attributes = [TaskAttribute(name: "ecs.cpu-architecture", value: definition.platform.architecture == "ARM64" ? "arm64" : "x86_64")]
        task.tags = definition.tags
        // As on ECS, only a task with a task role has credentials: its containers get the
        // credentials endpoint (and this token for it); without one, they get none.
        let hasTaskRole = !(overrides.taskRoleArn ?? definition.taskRoleArn ?? "").isEmpty
        var record = TaskRecord(
            task: task, definition: definition, options: options, logStreams: [:], runtimeIDs: [:],
            stoppingContainer: nil,
            credentialsToken: hasTaskRole ? ARNFactory.newTaskID() + ARNFactory.newTaskID() : nil, processStartTimes: [:])
        record.setSupervisor(getpid())
        try await store.save(record)
        return record
    }

    /// A supervisor for a created task; call `run()` on it to drive the task to STOPPED.
    public func supervisor(for record: TaskRecord, runtime: any ContainerRuntime, console: (any TaskConsole)?) -> TaskSupervisor {
        var host: [(String, String)] = []
        for key in ["PATH", "HOME"] {
            if let v = ProcessInfo.processInfo.environment[key] { host.append((key, v)) }
        }
        var environment = ContainerEnvironment(
            region: configuration.region, endpointBaseURL: endpointBaseURL,
            hostVariables: runtime.name == "process" ? host : [])
        environment.linkLocalEndpoint = runtime.name == "docker"
        var record = record
        if runtime.name == "process", record.containerEndpoint == nil {
            // What the containers are told now; a re-adopted task keeps what they were told.
            record.containerEndpoint = endpointBaseURL
        }
        return TaskSupervisor(
            record: record, store: store, logs: logs, runtime: runtime, console: console,
            environment: environment, stateDirectory: configuration.stateDirectory,
            secretResolver: SecretResolver(endpoint: configuration.awsEndpoint, region: configuration.region))
    }

    /// Tasks left by a controller that died: not STOPPED, and their supervising process is
    /// gone (one that is alive, this one included, still has them).
    public func orphanedTasks() async throws -> [TaskRecord] {
        try await store.unstoppedTasks().filter { record in
            record.task.lastStatus != .stopped && record.runningSupervisorPID == nil
        }
    }

    /// The runtime called `name`.
    /// `shim` (the `fargate-local` executable) makes process containers outlive a crashed controller.
    /// `runtime(named:)` on a thread of its own: probing the Docker engine blocks (~1 ms),
    /// which `run` overlaps with opening the state.
    public static func makeRuntime(named name: String, keepContainers: Bool = false, shim: String? = nil, stateDirectory: URL? = nil) async throws
        -> any ContainerRuntime
    {
        if name == "process" { return try runtime(named: name, keepContainers: keepContainers, shim: shim, stateDirectory: stateDirectory) }
        return try await Blocking.run { try runtime(named: name, keepContainers: keepContainers, shim: shim, stateDirectory: stateDirectory) }
    }

    /// The runtime `name` picks (`process`, `docker` or `auto`: Docker when an engine answers
    /// within 3 s, else the process runtime); a forced `docker` waits up to 20 s for a busy engine.
    public static func runtime(named name: String, keepContainers: Bool = false, shim: String? = nil, stateDirectory: URL? = nil) throws -> any ContainerRuntime
    {
        let process = ProcessRuntime(shimExecutable: shim, stateDirectory: stateDirectory)
        switch name {
        case "process": return process
        case "auto": return (try? DockerRuntime(keepContainers: keepContainers)) ?? process
        case "docker": return try DockerRuntime(keepContainers: keepContainers, engineWaitSeconds: 20)
        default:
            throw ControllerError(.invalidInput, "unknown runtime \"\(name)\"; use process, docker or auto")
        }
    }
}

extension TaskController {
    /// The pid a process container's shim recorded (in the task's run directory), before
    /// the supervisor has saved it; nil for other runtimes or when there is none yet.
    public func shimReportedPID(taskID: String, container: String) -> Int32? {
        let directory = configuration.stateDirectory.appendingPathComponent("tasks/\(taskID)/run/\(container)").path
        return ShimFiles(directory: directory).readPID()?.pid
    }
}
