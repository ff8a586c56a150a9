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
        switch rest {
        case "": return containerJSON(record, container)
        case "/task": return taskJSON(record, tags: false)
        case "/taskWithTags": return taskJSON(record, tags: true)
        case "/stats": return ProcessStats.json(pid: record.runtimeIDs[name].flatMap(Int32.init))
        case "/task/stats":
            return .object(record.task.containers.map { c in
                ("\(record.id)-\(c.name)", ProcessStats.json(pid: record.runtimeIDs[c.name].flatMap(Int32.init)))
            })
        default: throw APIError("NotFound", "unknown metadata path \(rest)", status: 404)
        }
    }

    static func rfc3339(_ d: Date?) -> JSONValue {
        guard let d else { return .null }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return .string(f.string(from: d))
    }

    func containerJSON(_ record: TaskRecord, _ c: Container) -> JSONValue {
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
            ("DockerName", .string("ecs-\(record.definition.family)-\(record.definition.revision ?? 1)-\(c.name)")),
            ("Image", .string(c.image ?? "")), ("ImageID", .string("")), ("Labels", .object(labels)),
            ("DesiredStatus", .string(record.task.desiredStatus)), ("KnownStatus", .string(c.lastStatus.rawValue)),
            ("Limits", .object([("CPU", .number(String(def?.cpu ?? 0))), ("Memory", .number(String(def?.memory ?? 0)))])),
            ("CreatedAt", Self.rfc3339(record.task.createdAt)), ("StartedAt", Self.rfc3339(record.task.startedAt)),
            ("Type", .string("NORMAL")), ("ContainerARN", .string(c.containerArn)),
            ("Networks", .array([.object([("NetworkMode", .string("awsvpc")), ("IPv4Addresses", .array([.string("127.0.0.1")]))])])),
        ]
        if let code = c.exitCode { fields.append(("ExitCode", .number(String(code)))) }
        if let log = def?.logConfiguration {
            fields.append(("LogDriver", .string(log.logDriver)))
            fields.append(("LogOptions", .object((log.options ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        if let health = c.healthStatus { fields.append(("Health", .object([("status", .string(health.rawValue))]))) }
        return .object(fields)
    }

    func taskJSON(_ record: TaskRecord, tags: Bool) -> JSONValue {
        let t = record.task
        let cpu = Double(t.cpu.flatMap(Int.init) ?? 0) / 1024
        var fields: [(key: String, value: JSONValue)] = [
            ("Cluster", .string(t.clusterArn)), ("TaskARN", .string(t.taskArn)), ("Family", .string(record.definition.family)),
            ("Revision", .string(String(record.definition.revision ?? 1))), ("DesiredStatus", .string(t.desiredStatus)),
            ("KnownStatus", .string(t.lastStatus.rawValue)),
            ("Limits", .object([("CPU", .number(String(cpu))), ("Memory", .number(t.memory ?? "0"))])),
            ("PullStartedAt", Self.rfc3339(t.pullStartedAt)), ("PullStoppedAt", Self.rfc3339(t.pullStoppedAt)),
            ("AvailabilityZone", .string(t.availabilityZone ?? "")), ("LaunchType", .string("FARGATE")),
            ("Containers", .array(t.containers.map { containerJSON(record, $0) })),
            ("EphemeralStorageMetrics", .object([("Utilized", .number("0")), ("Reserved", .number(String((t.ephemeralStorage?.sizeInGiB ?? 20) * 1024)))])),
        ]
        if let at = t.executionStoppedAt { fields.append(("ExecutionStoppedAt", Self.rfc3339(at))) }
        if tags {
            fields.append(("TaskTags", .object((t.tags ?? []).map { ($0.key ?? "", .string($0.value ?? "")) })))
        }
        return .object(fields)
    }
}

/// CPU and memory of a process-runtime container: its whole process group, from /proc.
enum ProcessStats {
    static func json(pid: Int32?) -> JSONValue {
        let now = TaskMetadata.rfc3339(Date())
        guard let pid else { return .null }
        var cpuTicks: UInt64 = 0
        var rssPages: UInt64 = 0
        var count = 0
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let ticksPerSecond = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let f = stat[stat.index(after: close)...].split(separator: " ")
            // f[2] is pgrp (field 5); utime, stime are fields 14, 15; rss is field 24.
            guard f.count > 21, Int32(f[2]) == pid else { continue }
            cpuTicks += (UInt64(f[11]) ?? 0) + (UInt64(f[12]) ?? 0)
            rssPages += UInt64(f[21]) ?? 0
            count += 1
        }
        guard count > 0 else { return .null }
        let cpuNanos = cpuTicks * 1_000_000_000 / max(ticksPerSecond, 1)
        return .object([
            ("read", now), ("name", .string(String(pid))),
            ("pids_stats", .object([("current", .number(String(count)))])),
            ("cpu_stats", .object([("cpu_usage", .object([("total_usage", .number(String(cpuNanos)))])), ("online_cpus", .number(String(ProcessInfo.processInfo.activeProcessorCount)))])),
            ("memory_stats", .object([("usage", .number(String(rssPages * pageSize)))])),
        ])
    }
}

extension TaskRecord {
    func container(named name: String) -> Container? { task.containerIndex(name).map { task.containers[$0] } }
}
