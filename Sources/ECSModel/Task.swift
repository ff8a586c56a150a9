import Foundation

/// A task as DescribeTasks returns it (the `Task` shape of the ECS model).
public struct ECSTask: Codable, Sendable, Equatable {
    public var taskArn: String
    public var clusterArn: String
    public var taskDefinitionArn: String
    public var lastStatus: TaskStatus
    public var desiredStatus: String
    public var launchType: String
    /// RunTask's `capacityProviderStrategy`: the provider the task was placed with
    /// (`FARGATE` or `FARGATE_SPOT`); absent for a task run with a launch type.
    public var capacityProviderName: String?
    public var platformVersion: String?
    public var platformFamily: String?
    public var cpu: String?
    public var memory: String?
    public var availabilityZone: String?
    public var group: String?
    public var startedBy: String?
    public var connectivity: String?
    public var healthStatus: HealthStatus?
    public var stopCode: StopCode?
    public var stoppedReason: String?
    public var createdAt: Date?
    public var pullStartedAt: Date?
    public var pullStoppedAt: Date?
    /// RunTask's `enableExecuteCommand`: its containers then carry an ExecuteCommandAgent.
    public var enableExecuteCommand: Bool?
    public var connectivityAt: Date?
    public var startedAt: Date?
    public var stoppingAt: Date?
    public var stoppedAt: Date?
    public var executionStoppedAt: Date?
    public var version: Int
    public var containers: [Container]
    public var overrides: TaskOverride
    public var tags: [Tag]?
    public var ephemeralStorage: EphemeralStorage?
    /// Fargate reports the task's ephemeral storage here too.
    public var fargateEphemeralStorage: EphemeralStorage?
    /// The task's elastic network interface in awsvpc mode (`ElasticNetworkInterface`).
    public var attachments: [Attachment]?
    /// What Fargate places the task by: `ecs.cpu-architecture` (`x86_64`, `arm64`).
    public var attributes: [TaskAttribute]?

    /// The 32-hex-digit id at the end of the ARN.
    public var taskID: String { String(taskArn.split(separator: "/").last ?? "") }

    public init(taskArn: String, clusterArn: String, taskDefinitionArn: String, containers: [Container], overrides: TaskOverride) {
        self.taskArn = taskArn
        self.clusterArn = clusterArn
        self.taskDefinitionArn = taskDefinitionArn
        self.lastStatus = .provisioning
        self.desiredStatus = "RUNNING"
        self.launchType = "FARGATE"
        self.version = 1
        self.containers = containers
        self.overrides = overrides
    }

    /// Index of the container called `name`.
    public func containerIndex(_ name: String) -> Int? { containers.firstIndex { $0.name == name } }
}

/// A container of a running or stopped task (the `Container` shape).
public struct Container: Codable, Sendable, Equatable {
    public var containerArn: String
    public var taskArn: String
    public var name: String
    public var image: String?
    /// The image's digest, as ECS resolves it: the registry's manifest digest of the image
    /// pulled (`sha256:…`); for an image built locally (no registry digest), its image ID.
    public var imageDigest: String?
    public var runtimeId: String?
    public var lastStatus: ContainerStatus
    public var exitCode: Int?
    public var reason: String?
    public var healthStatus: HealthStatus?
    public var cpu: String?
    public var memory: String?
    public var memoryReservation: String?
    /// The task's network interface as this container sees it (awsvpc: one per task).
    public var networkInterfaces: [NetworkInterface]?
    /// Host port bindings: always empty in awsvpc mode, as on Fargate.
    public var networkBindings: [NetworkBinding]?
    /// ECS's agents beside the container: the ExecuteCommandAgent when the task was run
    /// with enableExecuteCommand.
    public var managedAgents: [ManagedAgent]?

    public init(containerArn: String, taskArn: String, name: String, image: String?) {
        self.containerArn = containerArn
        self.taskArn = taskArn
        self.name = name
        self.image = image
        self.lastStatus = .pending
    }

    /// The ExecuteCommandAgent follows its container, as ECS reports it: PENDING, RUNNING
    /// once the container runs (with when), STOPPED once it stops.
    public mutating func followExecuteCommandAgent(now: Date) {
        guard var agents = managedAgents, let i = agents.firstIndex(where: { $0.name == ManagedAgent.executeCommand }) else { return }
        let status = lastStatus.rawValue
        if status == "RUNNING" && agents[i].lastStatus != "RUNNING" { agents[i].lastStartedAt = now }
        agents[i].lastStatus = status
        managedAgents = agents
    }
}

/// An agent ECS runs beside a container (the `ManagedAgent` shape).
public struct ManagedAgent: Codable, Sendable, Equatable {
    /// The agent ECS Exec needs.
    public static let executeCommand = "ExecuteCommandAgent"

    public var name: String
    public var lastStatus: String
    public var lastStartedAt: Date?
    public var reason: String?

    public init(name: String, lastStatus: String, lastStartedAt: Date? = nil) {
        self.name = name
        self.lastStatus = lastStatus
        self.lastStartedAt = lastStartedAt
    }
}

/// A resource attached to a task (the `Attachment` shape): in awsvpc mode its network
/// interface, `ElasticNetworkInterface`, PRECREATED, then ATTACHED, then DELETED.
/// An attribute of a task (the `Attribute` shape, without a target).
public struct TaskAttribute: Codable, Sendable, Equatable {
    public var name: String
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

/// A container's port bound on its host (the `NetworkBinding` shape); Fargate has none.
public struct NetworkBinding: Codable, Sendable, Equatable {
    public var bindIP: String?
    public var containerPort: Int?
    public var hostPort: Int?
    public var `protocol`: String?
}

/// A task's attachment, as DescribeTasks shows it: its elastic network interface (awsvpc).
public struct Attachment: Codable, Sendable, Equatable {
    public var id: String
    public var type: String
    public var status: String
    public var details: [KeyValuePair]

    public init(id: String, type: String, status: String, details: [KeyValuePair]) {
        self.id = id
        self.type = type
        self.status = status
        self.details = details
    }

    /// The value of detail `name` (`privateIPv4Address`, `macAddress`, …).
    public func detail(_ name: String) -> String? { details.first { $0.name == name }?.value }
}

/// A container's network interface (the `NetworkInterface` shape).
public struct NetworkInterface: Codable, Sendable, Equatable {
    public var attachmentId: String?
    public var privateIpv4Address: String?

    public init(attachmentId: String?, privateIpv4Address: String?) {
        self.attachmentId = attachmentId
        self.privateIpv4Address = privateIpv4Address
    }
}

/// RunTask's `overrides` (the `TaskOverride` shape).
public struct TaskOverride: Codable, Sendable, Equatable {
    public var containerOverrides: [ContainerOverride]?
    public var cpu: String?
    public var memory: String?
    public var taskRoleArn: String?
    public var executionRoleArn: String?
    public var ephemeralStorage: EphemeralStorage?

    public init(containerOverrides: [ContainerOverride]? = nil) {
        self.containerOverrides = containerOverrides
    }

    /// The override for container `name`, if any.
    public func container(_ name: String) -> ContainerOverride? {
        containerOverrides?.first { $0.name == name }
    }
}

extension ContainerDefinition {
    /// This container with `override`'s cpu, memory and memoryReservation in place of its own,
    /// as ECS applies a container override's limits.
    public func limited(by override: ContainerOverride?) -> ContainerDefinition {
        guard let override else { return self }
        var limited = self
        limited.cpu = override.cpu ?? cpu
        limited.memory = override.memory ?? memory
        limited.memoryReservation = override.memoryReservation ?? memoryReservation
        return limited
    }
}

/// One entry of `containerOverrides`.
public struct ContainerOverride: Codable, Sendable, Equatable {
    public var name: String?
    public var command: [String]?
    public var environment: [KeyValuePair]?
    public var environmentFiles: [EnvironmentFile]?
    public var cpu: Int?
    public var memory: Int?
    public var memoryReservation: Int?

    public init(name: String, command: [String]? = nil, environment: [KeyValuePair]? = nil) {
        self.name = name
        self.command = command
        self.environment = environment
    }
}
