/// ECS's registration rules and Fargate's launch rules, with ECS's
/// ClientException wording where ECS has one. Reports every problem, not just the first.
public enum TaskDefinitionValidator {
    /// All problems of a decoded task definition for a launch type.
    public static func validate(_ td: TaskDefinition, launchType: LaunchType = .fargate) -> [Diagnostic] {
        var v = Collector()
        let fargate =
            launchType == .fargate
            && (td.requiresCompatibilities.map { $0.isEmpty || $0.contains("FARGATE") } ?? true)
        if launchType == .fargate, let rc = td.requiresCompatibilities, !rc.isEmpty, !rc.contains("FARGATE") {
            v.warn("requiresCompatibilities", "does not include FARGATE; Fargate's rules were not applied (use --launch-type EC2 to check EC2 rules)")
        }
        checkFamily(td.family, &v)
        let containers = td.containerDefinitions
        if containers.isEmpty {
            v.error("containerDefinitions", "Container list cannot be empty.")
        }
        var names: [String: Int] = [:]
        for (i, c) in containers.enumerated() {
            let p = "containerDefinitions[\(i)]"
            guard let name = c.name, !name.isEmpty else {
                v.error("\(p).name", "Container.name should not be null or empty.")
                continue
            }
            if !isValidName(name) {
                v.error(
                    "\(p).name",
                    "Container name \"\(name)\" is invalid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.")
            }
            if let first = names[name] {
                v.error(
                    "\(p).name",
                    "Duplicate container name \"\(name)\" (also containerDefinitions[\(first)]). Container names must be unique within a task definition.")
            } else {
                names[name] = i
            }
        }
        if !containers.isEmpty && !containers.contains(where: { $0.isEssential }) {
            v.error("containerDefinitions", "A task definition must have at least one essential container.")
        }
        let volumeNames = Set((td.volumes ?? []).compactMap(\.name))
        checkVolumes(td.volumes ?? [], fargate: fargate, &v)
        for (i, c) in containers.enumerated() {
            checkContainer(c, at: i, in: td, names: names, volumes: volumeNames, fargate: fargate, launchType: launchType, &v)
        }
        checkDependencyCycles(containers, names: names, &v)
        checkExecutionRole(td, fargate: fargate, &v)
        checkHostPorts(td, fargate: fargate, &v)
        checkTaskResources(td, fargate: fargate, launchType: launchType, &v)
        if fargate {
            if let mode = td.networkMode, mode != "awsvpc" {
                v.error("networkMode", "Fargate only supports network mode 'awsvpc'.")
            } else if td.networkMode == nil {
                v.error("networkMode", "Fargate only supports network mode 'awsvpc'; networkMode must be set to \"awsvpc\".")
            }
            if td.pidMode == "host" {
                v.error("pidMode", "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.")
            }
            if td.ipcMode != nil { v.error("ipcMode", "Tasks using the Fargate launch type do not support ipcMode.") }
            if !(td.placementConstraints ?? []).isEmpty {
                v.error("placementConstraints", "Fargate does not support placementConstraints (Fargate places tasks itself).")
            }
            if !(td.inferenceAccelerators ?? []).isEmpty {
                v.error("inferenceAccelerators", "Fargate does not support inferenceAccelerators.")
            }
            checkFargateWindows(td, &v)
        }
        if let es = td.ephemeralStorage, !(21...200).contains(es.sizeInGiB) {
            v.error("ephemeralStorage.sizeInGiB", "The ephemeral storage size must be between 21 GiB and 200 GiB; \(es.sizeInGiB) was given.")
        }
        return v.items
    }

    /// What needs the task execution role, in ECS's RegisterTaskDefinition wording (one
    /// error each, at the first container that needs it): secrets and private registry
    /// credentials, and on Fargate the awslogs driver and images from ECR.
    private static func checkExecutionRole(_ td: TaskDefinition, fargate: Bool, _ v: inout Collector) {
        guard (td.executionRoleArn ?? "").isEmpty else { return }
        let containers = Array(td.containerDefinitions.enumerated())
        if let i = containers.first(where: { !($0.element.secrets ?? []).isEmpty })?.offset {
            v.error("containerDefinitions[\(i)].secrets", "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.")
        }
        if let i = containers.first(where: { $0.element.repositoryCredentials != nil })?.offset {
            v.error(
                "containerDefinitions[\(i)].repositoryCredentials",
                "Private repository authentication requires that the task definition specify a value for executionRoleArn.")
        }
        guard fargate else { return }
        if let i = containers.first(where: { $0.element.logConfiguration?.logDriver == "awslogs" })?.offset {
            v.error(
                "containerDefinitions[\(i)].logConfiguration.logDriver",
                "Fargate requires task definition to have execution role ARN to support log driver awslogs.")
        }
        if let i = containers.first(where: { isECRImage($0.element.image ?? "") })?.offset {
            v.error("containerDefinitions[\(i)].image", "Fargate requires task definition to have execution role ARN to support ECR images.")
        }
    }

    /// A host port (in awsvpc, the container port) mapped twice for one protocol, across
    /// all the task's containers: ECS refuses it at registration.
    private static func checkHostPorts(_ td: TaskDefinition, fargate: Bool, _ v: inout Collector) {
        let awsvpc = fargate || td.networkMode == "awsvpc"
        var seen: Set<String> = []
        for (i, c) in td.containerDefinitions.enumerated() {
            for (j, pm) in (c.portMappings ?? []).enumerated() {
                guard let port = awsvpc ? pm.containerPort : pm.hostPort, port > 0 else { continue }
                let proto = (pm.protocol ?? "tcp").uppercased()
                guard seen.insert("\(proto) \(port)").inserted else {
                    v.error("containerDefinitions[\(i)].portMappings[\(j)]", "\(proto) host port '\(port)' is mapped multiple times in task.")
                    continue
                }
            }
        }
    }

    /// An image in an ECR registry (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`).
    static func isECRImage(_ image: String) -> Bool {
        guard let slash = image.firstIndex(of: "/") else { return false }
        let registry = image[..<slash].lowercased()
        return registry.contains(".dkr.ecr") && (registry.hasSuffix(".amazonaws.com") || registry.hasSuffix(".amazonaws.com.cn"))
    }

    /// Windows on Fargate: X86_64 only, and 1, 2 or 4 vCPU (Fargate's CPU and memory table).
    private static func checkFargateWindows(_ td: TaskDefinition, _ v: inout Collector) {
        guard td.platform.isWindows else { return }
        let family = td.platform.osFamily
        v.warn(
            "runtimePlatform.operatingSystemFamily",
            "fargate-local runs Linux tasks only: it registers this \(family) task but cannot run it (RunTask: PlatformTaskDefinitionIncompatibilityException)."
        )
        if td.platform.architecture != "X86_64" {
            v.error(
                "runtimePlatform.cpuArchitecture",
                "Windows containers on Fargate run on X86_64 only; \(family) with \(td.platform.architecture) is not supported.")
        }
        if let cpu = td.cpu.flatMap(ResourceSize.cpuUnits), ResourceSize.fargateMemoryChoices(forCPU: cpu) != nil, ![1024, 2048, 4096].contains(cpu) {
            v.error("cpu", "Invalid 'cpu' setting for task. Windows containers on Fargate need 1024, 2048 or 4096 CPU units; \(cpu) was given.")
        }
    }

    /// ECS's rule for family, container and cluster names: up to 255 letters, digits, '_' and '-'.
    public static func isValidName(_ s: String) -> Bool {
        s.count <= 255
            && s.unicodeScalars.allSatisfy {
                ($0.isASCII && (CharacterSetCheck.isAlnum($0) || $0 == "_" || $0 == "-"))
            }
    }

    private static func checkFamily(_ family: String, _ v: inout Collector) {
        if family.isEmpty {
            v.error("family", "Family should not be null or empty.")
        } else if !isValidName(family) {
            v.error("family", "Family \"\(family)\" is invalid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.")
        }
    }

    private static func checkVolumes(_ volumes: [Volume], fargate: Bool, _ v: inout Collector) {
        var seen = Set<String>()
        for (i, vol) in volumes.enumerated() {
            let p = "volumes[\(i)]"
            guard let name = vol.name, !name.isEmpty else {
                v.error("\(p).name", "Volume name should not be null or empty.")
                continue
            }
            if !seen.insert(name).inserted {
                v.error("\(p).name", "Duplicate volume name \"\(name)\".")
            }
            if fargate, vol.dockerVolumeConfiguration != nil {
                v.error(
                    "\(p).dockerVolumeConfiguration",
                    "Fargate does not support dockerVolumeConfiguration; use an EFS volume or task storage (a volume with no configuration).")
            }
            if fargate, let source = vol.host?.sourcePath, !source.isEmpty {
                v.warn("\(p).host.sourcePath", "Fargate does not support host.sourcePath (it is ignored by AWS); fargate-local binds \(source) as given.")
            }
            if let efs = vol.efsVolumeConfiguration {
                if efs.fileSystemId.isEmpty || Placeholder.find(in: efs.fileSystemId) != nil {
                    v.error("\(p).efsVolumeConfiguration.fileSystemId", "fileSystemId must name a file system (fs-...).")
                }
                if let root = efs.rootDirectory, root.split(separator: "/").contains("..") {
                    v.error("\(p).efsVolumeConfiguration.rootDirectory", "rootDirectory may not contain \"..\".")
                }
                let auth = efs.authorizationConfig
                if let ap = auth?.accessPointId, !ap.isEmpty, let root = efs.rootDirectory, root != "/" {
                    v.error(
                        "\(p).efsVolumeConfiguration.rootDirectory",
                        "Invalid request provided: Create TaskDefinition: When using an EFS access point, the root directory must either be set to \"/\" or be omitted."
                    )
                }
                if !(auth?.accessPointId ?? "").isEmpty || auth?.iam == "ENABLED", efs.transitEncryption != "ENABLED" {
                    v.error(
                        "\(p).efsVolumeConfiguration.transitEncryption",
                        "transitEncryption must be ENABLED when an EFS access point or IAM authorization is used.")
                }
            }
        }
    }

    private static func checkContainer(
        _ c: ContainerDefinition, at i: Int, in td: TaskDefinition, names: [String: Int], volumes: Set<String>,
        fargate: Bool, launchType: LaunchType, _ v: inout Collector
    ) {
        let p = "containerDefinitions[\(i)]"
        if (c.image ?? "").isEmpty {
            v.error("\(p).image", "Container.image should not be null or empty.")
        }
        if let mem = c.memory, let res = c.memoryReservation, res > mem {
            v.error(
                "\(p).memoryReservation",
                "Invalid setting for container '\(c.name ?? "")'. 'memoryReservation' (\(res)) must be less than or equal to 'memory' (\(mem)).")
        }
        if let mem = c.memory, mem < 6 {
            v.error("\(p).memory", "Invalid setting for container '\(c.name ?? "")'. 'memory' must be at least 6 MiB.")
        }
        if launchType == .ec2, c.memory == nil, c.memoryReservation == nil, td.memory == nil {
            v.error("\(p)", "Invalid setting for container '\(c.name ?? "")'. At least one of 'memory' or 'memoryReservation' must be specified.")
        }
        if fargate || td.networkMode == "awsvpc" {
            for (j, pm) in (c.portMappings ?? []).enumerated() {
                if let host = pm.hostPort, host != 0, let cp = pm.containerPort, host != cp {
                    v.error("\(p).portMappings[\(j)].hostPort", "When networkMode=awsvpc, the host ports and container ports in port mappings must match.")
                }
            }
            if let links = c.links, !links.isEmpty {
                v.error("\(p).links", "Links are not supported when networkMode=awsvpc.")
            }
            // ECS's RegisterTaskDefinition wording ("hostname is not supported on container when networkMode=awsvpc.").
            let unsupported: [(String, Bool)] = [
                ("hostname", !(c.hostname ?? "").isEmpty), ("dnsServers", !(c.dnsServers ?? []).isEmpty),
                ("dnsSearchDomains", !(c.dnsSearchDomains ?? []).isEmpty), ("extraHosts", !(c.extraHosts ?? []).isEmpty),
            ]
            for (field, present) in unsupported where present {
                v.error("\(p).\(field)", "\(field) is not supported on container when networkMode=awsvpc.")
            }
        }
        for (j, pm) in (c.portMappings ?? []).enumerated() {
            if let cp = pm.containerPort, !(1...65535).contains(cp) {
                v.error("\(p).portMappings[\(j)].containerPort", "containerPort must be between 1 and 65535; \(cp) was given.")
            }
        }
        if fargate {
            if c.privileged == true { v.error("\(p).privileged", "Fargate does not support privileged containers.") }
            if c.disableNetworking != nil { v.error("\(p).disableNetworking", "Fargate does not support disableNetworking.") }
            if !(c.dockerSecurityOptions ?? []).isEmpty {
                v.error("\(p).dockerSecurityOptions", "Fargate does not support dockerSecurityOptions.")
            }
            for (j, r) in (c.resourceRequirements ?? []).enumerated() where r.type == "GPU" || r.type == "InferenceAccelerator" {
                v.error("\(p).resourceRequirements[\(j)].type", "Tasks using the Fargate launch type do not support \(r.type) resource requirements.")
            }
            if c.linuxParameters?.devices != nil {
                v.error("\(p).linuxParameters.devices", "Fargate does not support devices.")
            }
            if let caps = c.linuxParameters?.capabilities?.add {
                for (j, cap) in caps.enumerated() where cap != "SYS_PTRACE" {
                    v.error("\(p).linuxParameters.capabilities.add[\(j)]", "Fargate only supports adding the SYS_PTRACE capability; \"\(cap)\" was given.")
                }
            }
            if c.linuxParameters?.sharedMemorySize != nil {
                v.error("\(p).linuxParameters.sharedMemorySize", "Fargate does not support sharedMemorySize.")
            }
            if c.linuxParameters?.tmpfs != nil {
                v.error("\(p).linuxParameters.tmpfs", "Fargate does not support tmpfs mounts.")
            }
            if c.linuxParameters?.maxSwap != nil {
                v.error("\(p).linuxParameters.maxSwap", "Fargate does not support maxSwap (tasks on Fargate have no swap).")
            }
            if c.linuxParameters?.swappiness != nil {
                v.error("\(p).linuxParameters.swappiness", "Fargate does not support swappiness (tasks on Fargate have no swap).")
            }
            if let timeout = c.stopTimeout, timeout > 120 {
                v.error("\(p).stopTimeout", "stopTimeout on Fargate can be at most 120 seconds; \(timeout) was given.")
            }
            if let driver = c.logConfiguration?.logDriver, ["json-file", "syslog", "journald", "gelf", "fluentd"].contains(driver) {
                v.error("\(p).logConfiguration.logDriver", "Fargate only supports the awslogs, splunk and awsfirelens log drivers; \"\(driver)\" was given.")
            }
        }
        if let t = c.stopTimeout, t < 0 {
            v.error("\(p).stopTimeout", "stopTimeout must not be negative.")
        }
        if let policy = c.restartPolicy {
            if let period = policy.restartAttemptPeriod, !(60...1800).contains(period) {
                v.error("\(p).restartPolicy.restartAttemptPeriod", "restartAttemptPeriod must be between 60 and 1800 seconds; \(period) was given.")
            }
            if let codes = policy.ignoredExitCodes, codes.count > 50 {
                v.error("\(p).restartPolicy.ignoredExitCodes", "ignoredExitCodes can list at most 50 exit codes; \(codes.count) were given.")
            }
        }
        if let log = c.logConfiguration, log.logDriver == "awslogs" {
            let options = log.options ?? [:]
            let missing = ["awslogs-region", "awslogs-group"].filter { (options[$0] ?? "").isEmpty }
            if !missing.isEmpty {
                v.error("\(p).logConfiguration.options", "Log driver awslogs requires options: \(missing.joined(separator: ", "))")
            }
            if fargate, (options["awslogs-stream-prefix"] ?? "").isEmpty {
                v.warn("\(p).logConfiguration.options", "awslogs-stream-prefix is required on Fargate; without it streams are named CONTAINER/TASK_ID here.")
            }
            if let mode = options["mode"], !["blocking", "non-blocking"].contains(mode) {
                v.error("\(p).logConfiguration.options.mode", "mode must be \"blocking\" or \"non-blocking\"; \"\(mode)\" was given.")
            }
            for key in ["awslogs-datetime-format", "awslogs-multiline-pattern"] {
                guard let value = options[key], !value.isEmpty else { continue }
                let pattern = key == "awslogs-datetime-format" ? AwslogsMultiline.startPattern(options: [key: value]) ?? value : value
                if let problem = AwslogsMultiline.problem(in: pattern) {
                    v.error("\(p).logConfiguration.options.\(key)", "\(problem): the container would not start (the awslogs driver cannot parse it).")
                }
            }
            if options["awslogs-datetime-format"].map({ !$0.isEmpty }) == true, options["awslogs-multiline-pattern"].map({ !$0.isEmpty }) == true {
                v.warn("\(p).logConfiguration.options.awslogs-multiline-pattern", "ignored: awslogs-datetime-format is also set, and it takes precedence.")
            }
        }
        for (j, mp) in (c.mountPoints ?? []).enumerated() {
            let mpPath = "\(p).mountPoints[\(j)]"
            if let source = mp.sourceVolume, !source.isEmpty {
                if !volumes.contains(source) {
                    v.error("\(mpPath).sourceVolume", "Unable to find volume \"\(source)\": it is not declared in the task definition's volumes.")
                }
            } else {
                v.error("\(mpPath).sourceVolume", "sourceVolume should not be null or empty.")
            }
            if let cpath = mp.containerPath, !cpath.isEmpty {
                if !cpath.hasPrefix("/") {
                    v.error("\(mpPath).containerPath", "containerPath must be an absolute path; \"\(cpath)\" was given.")
                }
            } else {
                v.error("\(mpPath).containerPath", "containerPath should not be null or empty.")
            }
        }
        for (j, vf) in (c.volumesFrom ?? []).enumerated() {
            if let source = vf.sourceContainer, names[source] == nil {
                v.error("\(p).volumesFrom[\(j)].sourceContainer", "Container \"\(source)\" does not exist in this task definition.")
            }
        }
        for (j, s) in (c.secrets ?? []).enumerated() where s.valueFrom.isEmpty {
            v.error("\(p).secrets[\(j)].valueFrom", "valueFrom should not be null or empty.")
        }
        for (j, f) in (c.environmentFiles ?? []).enumerated() {
            if !f.value.hasPrefix("arn:") || !f.value.contains(":s3:::") {
                v.error(
                    "\(p).environmentFiles[\(j)].value", "Environment file must be an S3 object ARN (arn:aws:s3:::bucket/key.env); \"\(f.value)\" was given.")
            } else if !f.value.hasSuffix(".env") {
                v.error("\(p).environmentFiles[\(j)].value", "Environment files must have the .env file extension.")
            }
        }
        for (j, e) in (c.environment ?? []).enumerated() where (e.name ?? "").isEmpty {
            v.error("\(p).environment[\(j)].name", "Environment variable name should not be null or empty.")
        }
        if let hc = c.healthCheck {
            checkHealthCheck(hc, at: "\(p).healthCheck", &v)
        }
        for (j, dep) in (c.dependsOn ?? []).enumerated() {
            let dp = "\(p).dependsOn[\(j)]"
            guard let target = names[dep.containerName] else {
                v.error("\(dp).containerName", "Container \"\(dep.containerName)\" named in dependsOn does not exist in this task definition.")
                continue
            }
            if dep.containerName == c.name {
                v.error("\(dp).containerName", "A container cannot depend on itself.")
                continue
            }
            let targetDef = td.containerDefinitions[target]
            if ["SUCCESS", "COMPLETE"].contains(dep.condition) && targetDef.isEssential {
                v.error(
                    "\(dp).condition",
                    "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container (container \"\(dep.containerName)\" is essential)."
                )
            }
            if dep.condition == "HEALTHY" && targetDef.healthCheck == nil {
                v.error("\(dp).condition", "Container \"\(dep.containerName)\" has no healthCheck, so a HEALTHY condition on it can never be met.")
            }
        }
    }

    private static func checkHealthCheck(_ hc: HealthCheck, at p: String, _ v: inout Collector) {
        if let first = hc.command.first {
            if first == "CMD" || first == "CMD-SHELL" {
                if hc.command.count < 2 { v.error("\(p).command", "\(first) must be followed by the command to run.") }
            } else if first != "NONE" {
                v.error("\(p).command[0]", "A health check command must start with \"CMD\" or \"CMD-SHELL\"; \"\(first)\" was given.")
            }
        } else {
            v.error("\(p).command", "A health check command should not be empty.")
        }
        let ranges: [(String, Int?, ClosedRange<Int>)] = [
            ("interval", hc.interval, 5...300), ("timeout", hc.timeout, 2...60),
            ("retries", hc.retries, 1...10), ("startPeriod", hc.startPeriod, 0...300),
        ]
        for (name, value, range) in ranges {
            if let value, !range.contains(value) {
                v.error("\(p).\(name)", "The health check \(name) must be between \(range.lowerBound) and \(range.upperBound); \(value) was given.")
            }
        }
        if let interval = hc.interval, let timeout = hc.timeout, timeout > interval, (5...300).contains(interval) {
            v.warn("\(p).timeout", "the timeout (\(timeout) s) is longer than the interval (\(interval) s).")
        }
    }

    private static func checkDependencyCycles(_ containers: [ContainerDefinition], names: [String: Int], _ v: inout Collector) {
        // Depth-first search; the first back edge found on each cycle is reported at its dependsOn entry.
        var state = [Int](repeating: 0, count: containers.count)  // 0 new, 1 on stack, 2 done
        var reported = Set<String>()
        func visit(_ i: Int, _ stack: [Int]) {
            state[i] = 1
            for (j, dep) in (containers[i].dependsOn ?? []).enumerated() {
                guard let t = names[dep.containerName], t != i else { continue }
                if state[t] == 1 {
                    let cycleStart = stack.firstIndex(of: t) ?? 0
                    let cycle = (stack[cycleStart...] + [i, t]).compactMap { containers[$0].name }
                    let key = Set(cycle).sorted().joined(separator: ",")
                    if reported.insert(key).inserted {
                        v.error(
                            "containerDefinitions[\(i)].dependsOn[\(j)]",
                            "Cycle detected in container dependencies: \(cycle.joined(separator: " -> ")).")
                    }
                } else if state[t] == 0 {
                    visit(t, stack + [i])
                }
            }
            state[i] = 2
        }
        for i in containers.indices where state[i] == 0 { visit(i, []) }
    }

    private static func checkTaskResources(_ td: TaskDefinition, fargate: Bool, launchType: LaunchType, _ v: inout Collector) {
        var taskCPU: Int?
        var taskMemory: Int?
        if let cpu = td.cpu {
            if let units = ResourceSize.cpuUnits(cpu) {
                taskCPU = units
            } else {
                v.error("cpu", "Invalid 'cpu' setting for task. \"\(cpu)\" is not a number of CPU units (\"1024\") or vCPUs (\"1 vCPU\").")
            }
        }
        if let memory = td.memory {
            if let mib = ResourceSize.memoryMiB(memory) {
                taskMemory = mib
            } else {
                v.error("memory", "Invalid 'memory' setting for task. \"\(memory)\" is not a size in MiB (\"2048\") or GB (\"2 GB\").")
            }
        }
        if fargate {
            if td.cpu == nil {
                v.error("cpu", "Fargate requires that 'cpu' be defined at the task level.")
            }
            if td.memory == nil {
                v.error("memory", "Fargate requires that 'memory' be defined at the task level.")
            }
            if let cpu = taskCPU {
                if let choices = ResourceSize.fargateMemoryChoices(forCPU: cpu) {
                    if let mem = taskMemory, !choices.contains(mem) {
                        v.error(
                            "memory",
                            "No Fargate configuration exists for given values: \(cpu) CPU, \(mem) memory. With \(cpu) CPU units, memory must be \(ResourceSize.describeChoices(choices)) MiB."
                        )
                    }
                } else {
                    v.error("cpu", "Invalid 'cpu' setting for task. Fargate supports 256, 512, 1024, 2048, 4096, 8192 and 16384 CPU units; \(cpu) was given.")
                }
            }
        }
        let containers = td.containerDefinitions
        if let taskMemory {
            let sum = containers.reduce(0) { $0 + ($1.memory ?? $1.memoryReservation ?? 0) }
            if sum > taskMemory {
                v.error("containerDefinitions", "The containers' memory (\(sum) MiB in all) exceeds the task's memory (\(taskMemory) MiB).")
            }
            for (i, c) in containers.enumerated() {
                if let m = c.memory, m > taskMemory {
                    v.error(
                        "containerDefinitions[\(i)].memory",
                        "Invalid setting for container '\(c.name ?? "")'. 'memory' (\(m)) exceeds the task's memory (\(taskMemory)).")
                }
            }
        }
        if let taskCPU {
            let sum = containers.reduce(0) { $0 + ($1.cpu ?? 0) }
            if sum > taskCPU {
                v.error(
                    "containerDefinitions",
                    "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'. Here they are \(sum) units in all, and the task has \(taskCPU)."
                )
            }
        }
    }

    struct Collector {
        var items: [Diagnostic] = []
        mutating func error(_ path: String, _ message: String) { items.append(Diagnostic(.error, path, message)) }
        mutating func warn(_ path: String, _ message: String) { items.append(Diagnostic(.warning, path, message)) }
    }
}

enum CharacterSetCheck {
    static func isAlnum(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
    }
}
