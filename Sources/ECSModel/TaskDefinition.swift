import Foundation

/// An ECS task definition, with the field names and types of botocore's
/// `RegisterTaskDefinitionRequest` (plus the read-only fields ECS adds once registered).
public struct TaskDefinition: Codable, Sendable, Equatable {
    public var family: String
    public var taskRoleArn: String?
    public var executionRoleArn: String?
    public var networkMode: String?
    public var containerDefinitions: [ContainerDefinition]
    public var volumes: [Volume]?
    public var requiresCompatibilities: [String]?
    public var cpu: String?
    public var memory: String?
    public var tags: [Tag]?
    public var pidMode: String?
    public var ipcMode: String?
    public var ephemeralStorage: EphemeralStorage?
    public var runtimePlatform: RuntimePlatform?
    /// EC2 placement rules and Elastic Inference accelerators: kept as given, only checked
    /// (Fargate supports neither).
    public var placementConstraints: [PlacementConstraint]?
    public var inferenceAccelerators: [InferenceAccelerator]?
    // Read-only, set by registration.
    public var taskDefinitionArn: String?
    public var revision: Int?
    public var status: String?
    public var registeredAt: Date?
    public var compatibilities: [String]?

    public init(family: String, containerDefinitions: [ContainerDefinition]) {
        self.family = family
        self.containerDefinitions = containerDefinitions
    }
}

/// One container of a task definition (`ContainerDefinition` in the ECS model).
public struct ContainerDefinition: Codable, Sendable, Equatable {
    public var name: String?
    public var image: String?
    public var cpu: Int?
    public var memory: Int?
    public var memoryReservation: Int?
    public var links: [String]?
    public var portMappings: [PortMapping]?
    public var essential: Bool?
    public var entryPoint: [String]?
    public var command: [String]?
    public var environment: [KeyValuePair]?
    public var environmentFiles: [EnvironmentFile]?
    public var mountPoints: [MountPoint]?
    public var volumesFrom: [VolumeFrom]?
    public var linuxParameters: LinuxParameters?
    public var secrets: [Secret]?
    public var dependsOn: [ContainerDependency]?
    public var startTimeout: Int?
    public var stopTimeout: Int?
    public var hostname: String?
    public var user: String?
    public var workingDirectory: String?
    public var disableNetworking: Bool?
    public var dockerSecurityOptions: [String]?
    public var privileged: Bool?
    public var readonlyRootFilesystem: Bool?
    public var dockerLabels: [String: String]?
    public var ulimits: [Ulimit]?
    public var logConfiguration: LogConfiguration?
    public var healthCheck: HealthCheck?
    public var resourceRequirements: [ResourceRequirement]?
    public var systemControls: [SystemControl]?
    public var restartPolicy: ContainerRestartPolicy?
    public var repositoryCredentials: RepositoryCredentials?
    public var interactive: Bool?
    public var pseudoTerminal: Bool?
    public var dnsServers: [String]?
    public var dnsSearchDomains: [String]?
    public var extraHosts: [HostEntry]?

    public init(name: String, image: String) {
        self.name = name
        self.image = image
    }

    /// ECS's default: a container is essential unless it says otherwise.
    public var isEssential: Bool { essential ?? true }
}

/// An `/etc/hosts` entry for the container.
public struct HostEntry: Codable, Sendable, Equatable {
    public var hostname: String?
    public var ipAddress: String?
}

/// A namespaced kernel parameter for the container (`sysctl`).
public struct SystemControl: Codable, Sendable, Equatable {
    public var namespace: String?
    public var value: String?
}

/// ECS's container restart policy (restart a container in place when it exits).
public struct ContainerRestartPolicy: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var ignoredExitCodes: [Int]?
    public var restartAttemptPeriod: Int?
}

/// Credentials for a private registry (a Secrets Manager secret).
public struct RepositoryCredentials: Codable, Sendable, Equatable {
    public var credentialsParameter: String
}

/// A container's `portMappings` entry: a port (or `containerPortRange`) it listens on; `--publish` binds it on 127.0.0.1.
public struct PortMapping: Codable, Sendable, Equatable {
    public var containerPort: Int?
    public var hostPort: Int?
    public var `protocol`: String?
    public var name: String?
    public var appProtocol: String?
    public var containerPortRange: String?
}

/// A `name`/`value` pair, as an `environment` entry of a container or of an override is.
public struct KeyValuePair: Codable, Sendable, Equatable {
    public var name: String?
    public var value: String?
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An `environmentFiles` entry: an S3 object (`value`, an ARN; `type` is `s3`) of `KEY=VALUE` lines.
public struct EnvironmentFile: Codable, Sendable, Equatable {
    public var value: String
    public var type: String
}

/// A container's `mountPoints` entry: the task volume `sourceVolume` mounted at `containerPath`.
public struct MountPoint: Codable, Sendable, Equatable {
    public var sourceVolume: String?
    public var containerPath: String?
    public var readOnly: Bool?
}

/// A `volumesFrom` entry: every mount of `sourceContainer`, read-only if asked.
public struct VolumeFrom: Codable, Sendable, Equatable {
    public var sourceContainer: String?
    public var readOnly: Bool?
}

/// A container's `linuxParameters`: capabilities, an init process, tmpfs mounts, shared memory and swap.
public struct LinuxParameters: Codable, Sendable, Equatable {
    /// Linux capabilities added to or dropped from Docker's default set.
    public struct Capabilities: Codable, Sendable, Equatable {
        public var add: [String]?
        public var drop: [String]?
    }
    /// A tmpfs mount of `size` MiB at `containerPath`.
    public struct Tmpfs: Codable, Sendable, Equatable {
        public var containerPath: String
        public var size: Int
        public var mountOptions: [String]?
    }
    /// A host device exposed to the container (EC2 only).
    public struct Device: Codable, Sendable, Equatable {
        public var hostPath: String?
        public var containerPath: String?
        public var permissions: [String]?
    }
    public var capabilities: Capabilities?
    public var initProcessEnabled: Bool?
    public var sharedMemorySize: Int?
    public var tmpfs: [Tmpfs]?
    public var devices: [Device]?
    public var maxSwap: Int?
    public var swappiness: Int?
}

/// A `secrets` entry: the variable `name` set from `valueFrom` (an SSM parameter or a Secrets Manager secret).
public struct Secret: Codable, Sendable, Equatable {
    public var name: String
    public var valueFrom: String
}

/// A `dependsOn` entry: start this container only once `containerName` meets `condition`.
public struct ContainerDependency: Codable, Sendable, Equatable {
    public var containerName: String
    public var condition: String
}

/// A `ulimits` entry: a resource limit (`nofile`, ...) with its soft and hard values.
public struct Ulimit: Codable, Sendable, Equatable {
    public var name: String
    public var softLimit: Int
    public var hardLimit: Int

    public init(name: String, softLimit: Int, hardLimit: Int) {
        self.name = name
        self.softLimit = softLimit
        self.hardLimit = hardLimit
    }
}

/// A container's `logConfiguration`: the log driver (`awslogs` is captured here) and its options.
public struct LogConfiguration: Codable, Sendable, Equatable {
    public var logDriver: String
    public var options: [String: String]?
}

/// A container health check with ECS's defaults applied by the accessors.
public struct HealthCheck: Codable, Sendable, Equatable {
    public var command: [String]
    public var interval: Int?
    public var timeout: Int?
    public var retries: Int?
    public var startPeriod: Int?

    public init(command: [String], interval: Int? = nil, timeout: Int? = nil, retries: Int? = nil, startPeriod: Int? = nil) {
        self.command = command
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.startPeriod = startPeriod
    }

    public var effectiveInterval: Int { interval ?? 30 }
    public var effectiveTimeout: Int { timeout ?? 5 }
    public var effectiveRetries: Int { retries ?? 3 }
    public var effectiveStartPeriod: Int { startPeriod ?? 0 }
}

/// A task placement rule (EC2 only).
public struct PlacementConstraint: Codable, Sendable, Equatable {
    public var type: String?
    public var expression: String?
}

/// An Elastic Inference accelerator (EC2 only).
public struct InferenceAccelerator: Codable, Sendable, Equatable {
    public var deviceName: String?
    public var deviceType: String?
}

/// A `resourceRequirements` entry: a GPU count or an inference accelerator (neither exists on Fargate).
public struct ResourceRequirement: Codable, Sendable, Equatable {
    public var value: String
    public var type: String
}

/// A resource tag: `key` and `value`.
public struct Tag: Codable, Sendable, Equatable {
    public var key: String?
    public var value: String?
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// The task's `ephemeralStorage`: its scratch space in GiB (Fargate: 21 to 200).
public struct EphemeralStorage: Codable, Sendable, Equatable {
    public var sizeInGiB: Int
    public init(sizeInGiB: Int) { self.sizeInGiB = sizeInGiB }
}

/// The task's `runtimePlatform`; Fargate's default (absent, or either field absent) is
/// X86_64 Linux.
public struct RuntimePlatform: Codable, Sendable, Equatable {
    public var cpuArchitecture: String?
    public var operatingSystemFamily: String?

    public init(cpuArchitecture: String? = nil, operatingSystemFamily: String? = nil) {
        self.cpuArchitecture = cpuArchitecture
        self.operatingSystemFamily = operatingSystemFamily
    }

    /// ECS's CPU architecture: `X86_64` unless the definition says otherwise.
    public var architecture: String { cpuArchitecture ?? "X86_64" }

    /// ECS's operating system family: `LINUX` unless the definition says otherwise.
    public var osFamily: String { operatingSystemFamily ?? "LINUX" }

    /// A Windows Server family (`WINDOWS_SERVER_2022_CORE`, ...).
    public var isWindows: Bool { osFamily.hasPrefix("WINDOWS") }

    /// The image platform Fargate pulls and runs for it, as the OCI writes it
    /// (`linux/amd64`, `linux/arm64`); nil for Windows.
    public var imagePlatform: String? {
        guard !isWindows else { return nil }
        return "linux/" + Self.goArchitecture(ecs: architecture)
    }

    /// The OCI (Go) architecture name for an ECS one: `X86_64` → `amd64`, `ARM64` → `arm64`.
    public static func goArchitecture(ecs: String) -> String {
        switch ecs {
        case "ARM64": return "arm64"
        case "X86_64": return "amd64"
        default: return ecs.lowercased()
        }
    }
}

extension TaskDefinition {
    /// The definition's runtime platform, Fargate's default filled in.
    public var platform: RuntimePlatform { runtimePlatform ?? RuntimePlatform() }
}

/// A task volume: a host path, an EFS file system, a Docker volume, or (none of these) per-task scratch space.
public struct Volume: Codable, Sendable, Equatable {
    /// A bind mount's host side: `sourcePath` (absent: a per-task scratch volume).
    public struct Host: Codable, Sendable, Equatable {
        public var sourcePath: String?
    }
    /// An EFS volume: here a host folder under the state directory, shared across tasks.
    public struct EFSConfiguration: Codable, Sendable, Equatable {
        /// An EFS access point and IAM authorization.
        public struct AuthorizationConfig: Codable, Sendable, Equatable {
            public var accessPointId: String?
            public var iam: String?
        }
        public var fileSystemId: String
        public var rootDirectory: String?
        public var transitEncryption: String?
        public var authorizationConfig: AuthorizationConfig?
    }
    /// A Docker volume's scope, driver and provisioning (EC2 only).
    public struct DockerConfiguration: Codable, Sendable, Equatable {
        public var scope: String?
        public var autoprovision: Bool?
        public var driver: String?
    }
    public var name: String?
    public var host: Host?
    public var efsVolumeConfiguration: EFSConfiguration?
    public var dockerVolumeConfiguration: DockerConfiguration?
}
