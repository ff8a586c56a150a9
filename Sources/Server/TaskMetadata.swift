import Controller
import ECSModel
import Foundation

/// The task metadata endpoint (v4, and v3 at the same paths) as Fargate serves it.
struct TaskMetadata: Sendable {
    let controller: TaskController

    /// `/v4/<taskID>-<container>[/task|/taskWithTags|/stats|/task/stats]`
    func handle(version: Int, containerID: String, rest: String) async throws(APIError) -> JSONValue {
        guard let dash = containerID.firstIndex(of: "-") else { throw APIError("NotFound", "unknown container \(containerID)", status: 404) }
        let taskID = String(containerID[..<dash])
        let name = String(containerID[containerID.index(after: dash)...])
        let record: TaskRecord?
        do { record = try await controller.store.task(id: taskID) } catch { throw APIError.server("\(error)") }
        guard let record, let container = record.container(named: name) else {
            throw APIError("NotFound", "no container \(name) in task \(taskID)", status: 404)
        }
        let docker = record.runtimeName == "docker"
        switch rest {
        case "": return containerJSON(record, container, facts: docker ? await Self.dockerFacts(record, [name]) : [:])
        case "/task", "/taskWithTags":
            let facts = docker ? await Self.dockerFacts(record, record.task.containers.map(\.name), measuringStorage: true) : [:]
            return taskJSON(record, tags: rest == "/taskWithTags", facts: facts)
        case "/stats": return await stats(record, [name])[name] ?? .null
        case "/task/stats":
            let stats = await stats(record, record.task.containers.map(\.name))
            return .object(record.task.containers.map { c in ("\(record.id)-\(c.name)", stats[c.name] ?? .null) })
        default: throw APIError("NotFound", "unknown metadata path \(rest)", status: 404)
        }
    }

    /// Stats of the named containers: Docker's own for Docker containers (fetched at once:
    /// the engine takes ~1 s for each), the process group's from /proc otherwise.
    func stats(_ record: TaskRecord, _ names: [String]) async -> [String: JSONValue] {
        let docker = record.runtimeName == "docker"
        return await withTaskGroup(of: (String, JSONValue?).self) { group in
            for name in names {
                if docker {
                    let id = Self.dockerReference(record, name)
                    group.addTask { (name, await DockerRuntime.stats(ofContainer: id)) }
                } else {
                    let pid = processID(record, name)
                    group.addTask { (name, await ProcessStats.json(pid: pid)) }
                }
            }
            var out: [String: JSONValue] = [:]
            for await (name, stats) in group { out[name] = stats }
            return out
        }
    }

    /// A process container's pid: as recorded, else as its shim wrote it (a container asking
    /// for its stats as it starts may be ahead of the record).
    func processID(_ record: TaskRecord, _ name: String) -> Int32? {
        record.runtimeIDs[name].flatMap(Int32.init) ?? controller.shimReportedPID(taskID: record.id, container: name)
    }

    /// How the engine knows a task's container: its id once recorded, else its name (a
    /// container asking for its metadata as it starts may be ahead of the record).
    static func dockerReference(_ record: TaskRecord, _ name: String) -> String {
        record.runtimeIDs[name] ?? DockerRuntime.containerName(taskID: record.id, container: name)
    }

    /// The engine's facts (image id, address; with `measuringStorage`, what each wrote)
    /// about the named Docker containers.
    static func dockerFacts(_ record: TaskRecord, _ names: [String], measuringStorage: Bool = false) async -> [String: DockerContainerFacts] {
        await withTaskGroup(of: (String, DockerContainerFacts?).self) { group in
            for name in names {
                let id = dockerReference(record, name)
                group.addTask { (name, await DockerRuntime.facts(ofContainer: id, measuringStorage: measuringStorage)) }
            }
            var out: [String: DockerContainerFacts] = [:]
            for await (name, facts) in group { out[name] = facts }
            return out
        }
    }

    /// The MiB (rounded up) the containers' writable layers hold.
    static func utilizedMiB(_ facts: [String: DockerContainerFacts]) -> Int64 {
        let bytes = facts.values.reduce(Int64(0)) { $0 + ($1.writableLayerBytes ?? 0) }
        return (bytes + (1 << 20) - 1) >> 20
    }

    static func rfc3339(_ d: Date?) -> JSONValue {
        guard let d else { return .null }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return .string(f.string(from: d))
    }

    /// `facts`: what the Docker engine knows of the task's containers (none in the process runtime).
    func containerJSON(_ record: TaskRecord, _ c: Container, facts: [String: DockerContainerFacts]) -> JSONValue {
        let def = record.definition.containerDefinitions.first { $0.name == c.name }
        var labels: [(key: String, value: JSONValue)] = [
            ("com.amazonaws.ecs.cluster", .string(record.task.clusterArn)),
            ("com.amazonaws.ecs.container-name", .string(c.name)),
            ("com.amazonaws.ecs.task-arn", .string(record.task.taskArn)),
            ("com.amazonaws.ecs.task-definition-family", .string(record.definition.family)),
            ("com.amazonaws.ecs.task-definition-version", .string(String(record.definition.revision ?? 1))),
        ]
        for (k, v) in (def?.dockerLabels ?? [:]).sorted(by: { $0.key < $1.key }) { labels.append((k, .string(v))) }
        var fields: [(key: String, value: JSONValue)] = [
            ("DockerId", .string("\(record.id)-\(c.name)")), ("Name", .string(c.name)),
            // Fargate names the container as the task definition does (EC2's agent adds ecs-FAMILY-REV-).
            ("DockerName", .string(c.name)),
            ("Image", .string(c.image ?? "")), ("ImageID", .string(facts[c.name]?.imageID ?? "")), ("Labels", .object(labels)),
            ("DesiredStatus", .string(record.task.desiredStatus)), ("KnownStatus", .string(c.lastStatus.rawValue)),
            ("Limits", .object([("CPU", .number(String(def?.cpu ?? 0))), ("Memory", .number(String(def?.memory ?? 0)))])),
            ("CreatedAt", Self.rfc3339(record.task.createdAt)), ("StartedAt", Self.rfc3339(record.task.startedAt)),
            ("Type", .string("NORMAL")), ("ContainerARN", .string(c.containerArn)),
            ("Networks", .array([Self.network(record, facts[c.name])])),
        ]
        if let code = c.exitCode { fields.append(("ExitCode", .number(String(code)))) }
        if let log = def?.logConfiguration {
            fields.append(("LogDriver", .string(log.logDriver)))
            fields.append(("LogOptions", .object((log.options ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        // Only a container with a health check has Health in its metadata.
        if let health = c.healthStatus, def?.healthCheck != nil { fields.append(("Health", .object([("status", .string(health.rawValue))]))) }
        if def?.restartPolicy?.enabled == true {
            fields.append(("RestartCount", .number(String(record.restartCounts?[c.name] ?? 0))))
        }
        return .object(fields)
    }

    /// A container's `Networks` entry: its task's address on the Docker bridge, or the
    /// host's loopback for process containers (they share the host's network).
    static func network(_ record: TaskRecord, _ facts: DockerContainerFacts?) -> JSONValue {
        guard record.runtimeName == "docker", let facts, let address = facts.ipv4Address else {
            return .object([("NetworkMode", .string("awsvpc")), ("IPv4Addresses", .array([.string("127.0.0.1")]))])
        }
        var fields: [(key: String, value: JSONValue)] = [
            ("NetworkMode", .string("awsvpc")), ("IPv4Addresses", .array([.string(address)])), ("AttachmentIndex", .number("0")),
        ]
        if let mac = facts.macAddress { fields.append(("MACAddress", .string(mac))) }
        if let subnet = facts.subnetCIDRBlock { fields.append(("IPv4SubnetCIDRBlock", .string(subnet))) }
        if let gateway = facts.gateway, let prefix = facts.ipv4PrefixLength {
            fields.append(("SubnetGatewayIpv4Address", .string("\(gateway)/\(prefix)")))
        }
        return .object(fields)
    }

    func taskJSON(_ record: TaskRecord, tags: Bool, facts: [String: DockerContainerFacts]) -> JSONValue {
        let t = record.task
        let cpu = Double(t.cpu.flatMap(Int.init) ?? 0) / 1024
        var fields: [(key: String, value: JSONValue)] = [
            ("Cluster", .string(t.clusterArn)), ("TaskARN", .string(t.taskArn)), ("Family", .string(record.definition.family)),
            ("Revision", .string(String(record.definition.revision ?? 1))), ("DesiredStatus", .string(t.desiredStatus)),
            ("KnownStatus", .string(t.lastStatus.rawValue)),
            ("Limits", .object([("CPU", .number(String(cpu))), ("Memory", .number(t.memory ?? "0"))])),
            ("PullStartedAt", Self.rfc3339(t.pullStartedAt)), ("PullStoppedAt", Self.rfc3339(t.pullStoppedAt)),
            ("AvailabilityZone", .string(t.availabilityZone ?? "")), ("LaunchType", .string("FARGATE")),
            ("Containers", .array(t.containers.map { containerJSON(record, $0, facts: facts) })),
            // Utilized (MiB): what the task's containers wrote to their own filesystems (Docker);
            // a host process writes to the host's, so 0.
            (
                "EphemeralStorageMetrics",
                .object([
                    ("Utilized", .number(String(Self.utilizedMiB(facts)))),
                    ("Reserved", .number(String((t.ephemeralStorage?.sizeInGiB ?? 20) * 1024))),
                ])
            ),
        ]
        if let at = t.executionStoppedAt { fields.append(("ExecutionStoppedAt", Self.rfc3339(at))) }
        if tags {
            fields.append(("TaskTags", .object((t.tags ?? []).map { ($0.key ?? "", .string($0.value ?? "")) })))
        }
        return .object(fields)
    }
}

/// CPU and memory of a process-runtime container: its whole process group, from /proc, in
/// Docker's stats shape. Like Docker's `stream=false` (and Fargate's `/stats`), two samples a
/// second apart: `precpu_stats` is the first, so CPU use can be computed from one response.
enum ProcessStats {
    struct Sample {
        var read: Date
        var cpuNanos: UInt64
        var rssBytes: UInt64
        var processes: Int
        var systemNanos: UInt64
    }

    static func json(pid: Int32?) async -> JSONValue {
        guard let pid, let first = sample(pid) else { return .null }
        try? await Task.sleep(for: .seconds(1))
        let second = sample(pid) ?? first
        func cpu(_ s: Sample) -> JSONValue {
            .object([
                ("cpu_usage", .object([("total_usage", .number(String(s.cpuNanos)))])),
                ("system_cpu_usage", .number(String(s.systemNanos))),
                ("online_cpus", .number(String(ProcessInfo.processInfo.activeProcessorCount))),
            ])
        }
        return .object([
            ("read", TaskMetadata.rfc3339(second.read)), ("preread", TaskMetadata.rfc3339(first.read)),
            ("name", .string(String(pid))),
            ("pids_stats", .object([("current", .number(String(second.processes)))])),
            ("cpu_stats", cpu(second)), ("precpu_stats", cpu(first)),
            ("memory_stats", .object([("usage", .number(String(second.rssBytes)))])),
        ])
    }

    /// The process group `pid` leads, summed over its processes; nil when none is left.
    static func sample(_ pid: Int32) -> Sample? {
        var cpuTicks: UInt64 = 0
        var rssPages: UInt64 = 0
        var count = 0
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let ticksPerSecond = max(UInt64(sysconf(Int32(_SC_CLK_TCK))), 1)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let f = stat[stat.index(after: close)...].split(separator: " ")
            // f[2] is pgrp (field 5); utime, stime are fields 14, 15; rss is field 24.
            guard f.count > 21, Int32(f[2]) == pid else { continue }
            cpuTicks += (UInt64(f[11]) ?? 0) + (UInt64(f[12]) ?? 0)
            rssPages += UInt64(f[21]) ?? 0
            count += 1
        }
        guard count > 0 else { return nil }
        // The whole machine's CPU time (the first line of /proc/stat), as Docker's system_cpu_usage.
        var systemTicks: UInt64 = 0
        if let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first {
            systemTicks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }.reduce(0, +)
        }
        return Sample(
            read: Date(), cpuNanos: cpuTicks * 1_000_000_000 / ticksPerSecond, rssBytes: rssPages * pageSize,
            processes: count, systemNanos: systemTicks * 1_000_000_000 / ticksPerSecond)
    }
}

extension TaskRecord {
    func container(named name: String) -> Container? { task.containerIndex(name).map { task.containers[$0] } }
}
