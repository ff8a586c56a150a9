import ECSModel
import Foundation
import ShimCore

#if canImport(Glibc)
import Glibc
#endif

/// How a task is run; chosen by `fargate-local run` and kept with the task.
public struct RunOptions: Codable, Sendable, Equatable {
    /// `process` (host subprocesses) today.
    public var runtime: String
    /// IMAGE → host executable used as that image's entrypoint in process mode.
    public var imageMap: [String: String]
    /// Stop the task when it has run this long.
    public var timeoutSeconds: Double?
    public var startedBy: String?
    public var group: String?
    /// Docker runtime: keep the task's containers after it stops.
    public var keepContainers: Bool?
    /// Docker runtime: publish the task's portMappings on 127.0.0.1.
    public var publish: Bool?
    /// RunTask's `enableExecuteCommand` (`run --enable-execute-command`).
    public var enableExecuteCommand: Bool?

    public init(
        runtime: String = "process", imageMap: [String: String] = [:], timeoutSeconds: Double? = nil,
        startedBy: String? = nil, group: String? = nil
    ) {
        self.runtime = runtime
        self.imageMap = imageMap
        self.timeoutSeconds = timeoutSeconds
        self.startedBy = startedBy
        self.group = group
    }
}

/// What the controller keeps about a task: ECS's view of it plus what it needs to supervise it.
public struct TaskRecord: Codable, Sendable, Equatable {
    public var task: ECSTask
    public var definition: TaskDefinition
    public var options: RunOptions
    /// The awslogs stream of each container, by container name.
    public var logStreams: [String: LogStreamName]
    /// Runtime ids by container name (pids in process mode).
    public var runtimeIDs: [String: String]
    /// The essential container whose exit stopped the task, first in stop order.
    public var stoppingContainer: String?
    /// The pid of the process supervising the task, while it runs.
    public var supervisorPID: Int32?
    /// That process's start time (clock ticks since boot), so that a recycled pid (after
    /// the supervisor died, or a reboot) is never taken for it, nor signalled.
    public var supervisorStartTime: UInt64?
    /// `host:port` of the API of the process supervising the task when that process
    /// supervises several (`serve`, or RunTask against a `run`'s API): a stop asked for
    /// elsewhere is announced there (`POST /fargate-local/requested-stops`), since a SIGTERM
    /// would shut that whole process down. Nil for a process that supervises this task
    /// alone (`run --wait`, `supervise`), which SIGTERM stops as StopTask does.
    public var supervisorAPI: String?
    /// The metadata and credentials base URL (`http://127.0.0.1:PORT`) given to the task's
    /// process containers when they started: their environment cannot change, so a
    /// controller that re-adopts the task on another port also listens there for them.
    /// Nil for Docker tasks (they reach 169.254.170.2, re-routed to whoever adopts them).
    public var containerEndpoint: String?
    /// The secret a task presents to the credentials endpoint. Never logged or shown.
    public var credentialsToken: String?
    /// The runtime that ran the task (`process`, `docker`).
    public var runtimeName: String?
    /// Start time (clock ticks since boot) of each container's process, so a recycled pid is never mistaken for it.
    public var processStartTimes: [String: UInt64]?
    /// How many times each container was restarted by its restartPolicy.
    public var restartCounts: [String: Int]?
    /// When each container last started (seconds since the epoch), for its restartPolicy's
    /// restartAttemptPeriod across a controller restart.
    public var containerStartTimes: [String: Double]?

    public var id: String { task.taskID }

    /// Names `pid` the task's supervisor, with its start time.
    public mutating func setSupervisor(_ pid: Int32) {
        supervisorPID = pid
        supervisorStartTime = ProcStat.startTime(pid)
    }

    /// No process supervises the task (it stopped, or its supervisor was lost).
    public mutating func clearSupervisor() {
        supervisorPID = nil
        supervisorStartTime = nil
    }

    /// The supervising process's pid while that process runs: alive, and started when it
    /// was recorded (a recycled pid is not it). Nil otherwise.
    public var runningSupervisorPID: Int32? {
        guard let pid = supervisorPID, kill(pid, 0) == 0, !ProcStat.hasExited(pid) else { return nil }
        if let started = supervisorStartTime, ProcStat.startTime(pid) != started { return nil }
        return pid
    }

    /// The exit code `run --wait` returns: the stopping essential container's code,
    /// 124 after `--timeout`, 125 when the task failed to start.
    public var waitExitCode: Int32 {
        if task.stopCode == .taskFailedToStart { return 125 }
        if task.stoppedReason?.hasPrefix(Self.timeoutReasonPrefix) == true { return 124 }
        if let name = stoppingContainer, let i = task.containerIndex(name), let code = task.containers[i].exitCode {
            return Int32(truncatingIfNeeded: code)
        }
        let essentials = definition.containerDefinitions.filter(\.isEssential).compactMap(\.name)
        for name in essentials {
            if let i = task.containerIndex(name), let code = task.containers[i].exitCode { return Int32(truncatingIfNeeded: code) }
        }
        return 1
    }

    /// How the stoppedReason of a task that `--timeout` stopped begins.
    public static let timeoutReasonPrefix = "Task stopped by fargate-local: it ran longer than --timeout"
}
