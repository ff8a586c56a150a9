import ECSModel
import Foundation
import ShimCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs tasks in this process (for `serve` and RunTask) and stops tasks wherever
/// they are supervised: here, or by another fargate-local process, told once the request
/// is recorded (`SupervisorContact`).
public actor TaskHost {
    public let controller: TaskController
    private let runtime: any ContainerRuntime
    private var supervisors: [String: TaskSupervisor] = [:]
    private var runs: [String: Task<TaskRecord, Never>] = [:]
    /// IMAGE → host executable, for tasks started through the API in process mode.
    public nonisolated let imageMap: [String: String]
    /// Where tasks started without a console of their own (RunTask, re-adoption) report
    /// their lifecycle events, e.g. `serve`'s log; nil: nowhere.
    public nonisolated let eventLog: (@Sendable (TaskRecord) -> any TaskConsole)?
    /// Whether this process serves the API at `controller.endpointBaseURL`, where stops asked
    /// for elsewhere are announced; false for a process that supervises only what it took
    /// over to stop (`fargate-local stop` of a task whose supervisor is gone), which a
    /// SIGTERM stops instead.
    private let servesAPI: Bool

    /// Runs tasks with `runtime`; `imageMap` replaces image names, `eventLog` gives each task a
    /// console for its lifecycle events, and `servesAPI` says whether stop requests arrive
    /// through an API (else by SIGTERM).
    public init(
        controller: TaskController, runtime: any ContainerRuntime, imageMap: [String: String] = [:],
        eventLog: (@Sendable (TaskRecord) -> any TaskConsole)? = nil, servesAPI: Bool = true
    ) {
        self.controller = controller
        self.runtime = runtime
        self.imageMap = imageMap
        self.eventLog = eventLog
        self.servesAPI = servesAPI
    }

    /// Starts supervising a created task; returns at once.
    public func start(_ record: TaskRecord, console: (any TaskConsole)? = nil) {
        let log = console == nil ? eventLog?(record) : nil
        let supervisor = controller.supervisor(for: hosted(record), runtime: runtime, console: console ?? log)
        supervisors[record.id] = supervisor
        let id = record.id
        runs[id] = Task {
            let final = await supervisor.run()
            await log?.event(Self.stoppedEvent(final))
            self.finished(id)
            return final
        }
    }

    /// The record as this process supervises it: a stop asked for elsewhere is announced to
    /// its API (a SIGTERM would shut down every task it runs).
    private func hosted(_ record: TaskRecord) -> TaskRecord {
        var r = record
        r.supervisorAPI = servesAPI ? SupervisorContact.apiAddress(ofBaseURL: controller.endpointBaseURL) : nil
        return r
    }

    /// Applies a stop asked for from another process (`fargate-local stop` on this state,
    /// StopTask on another controller) to a task supervised here; false when it is not.
    public func applyStop(_ id: String, reason: String, code: StopCode, timeout: Int?) -> Bool {
        guard let supervisor = supervisors[id] else { return false }
        supervisor.requestStop(reason: String(reason.prefix(255)), code: code, timeout: timeout)
        return true
    }

    /// Says something about a task in the event log (before it starts), if there is one.
    public func note(_ record: TaskRecord, _ message: String) async {
        await eventLog?(record).event(message)
    }

    /// The last event of a task: how it stopped.
    static func stoppedEvent(_ record: TaskRecord) -> String {
        let codes = record.task.containers.map { "\($0.name)=\($0.exitCode.map(String.init) ?? "-")" }.joined(separator: " ")
        return "task STOPPED (\(record.task.stopCode?.rawValue ?? "")): \(record.task.stoppedReason ?? "") [exit codes: \(codes)]"
    }

    private func finished(_ id: String) {
        supervisors[id] = nil
    }

    /// Takes over a task whose controller died: Docker containers are found again by
    /// label and supervised to the end; anything that cannot be re-adopted is recorded lost.
    /// The task is claimed first (`StateStore.claimSupervision`): one that another process
    /// took over meanwhile is left to it.
    public func adoptOrMarkLost(_ orphan: TaskRecord) async throws -> Adoption {
        guard let record = try await controller.store.claimSupervision(of: orphan) else { return .takenElsewhere }
        var adopter: (any ContainerRuntime)?
        if record.runtimeName == runtime.name {
            adopter = runtime
        } else if record.runtimeName == "docker", DockerRuntime.isAvailable() {
            adopter = try? DockerRuntime(keepContainers: record.options.keepContainers ?? false)
        }
        if let adopter {
            let log = eventLog?(record)
            let supervisor = controller.supervisor(for: hosted(record), runtime: adopter, console: log)
            let sinks = await supervisor.outputSinks()
            var since: [String: LogResumePoint] = [:]
            for (name, stream) in record.logStreams {
                if let point = LogResumePoint(lines: controller.logs.events(of: stream)) { since[name] = point }
            }
            if let adopted = await adopter.adopt(taskID: record.id, since: since, output: { name in sinks[name] ?? DiscardingSink() }) {
                supervisors[record.id] = supervisor
                let id = record.id
                runs[id] = Task {
                    let final = await supervisor.resume(adopting: adopted)
                    await log?.event(Self.stoppedEvent(final))
                    self.finished(id)
                    return final
                }
                return .adopted
            }
        }
        _ = try await controller.markLost(
            record, reason: "Task stopped by fargate-local: its controller exited while the task ran and its containers could not be re-adopted")
        return .lost
    }

    /// What taking over an orphaned task came to.
    public enum Adoption: Sendable {
        /// Its containers are supervised here now.
        case adopted
        /// None of its containers could be found again: recorded STOPPED.
        case lost
        /// Another process took it over first.
        case takenElsewhere
    }

    /// Waits for a task started here to stop; nil if it is not supervised here.
    public func wait(_ id: String) async -> TaskRecord? {
        guard let run = runs[id] else { return nil }
        return await run.value
    }

    /// Task ids supervised by this process right now.
    public var localTaskIDs: [String] { Array(supervisors.keys) }

    /// StopTask: records the reason and stops the task where it runs.
    public func stop(_ id: String, reason: String, timeout: Int? = nil) async throws -> TaskRecord {
        let text = String(reason.prefix(255))
        if let supervisor = supervisors[id] {
            supervisor.requestStop(reason: text, timeout: timeout)
            if let record = try await controller.store.task(id: id) { return record }
            return try await controller.store.resolveTask(id)
        }
        let request = StopRequest(reason: text, timeoutSeconds: timeout)
        let record = try await controller.store.requestStop(id, request)
        guard record.task.lastStatus != .stopped else { return record }
        switch await SupervisorContact.announceStop(record, request) {
        case .told:
            return record
        case let .unreachable(why):
            throw ControllerError(.io, "task \(id) is supervised by another fargate-local process whose API does not answer (\(why)); it was not stopped")
        case .gone:
            // Nobody supervises it any more: its containers are killed and it is recorded as lost.
            return try await controller.markLost(record, reason: text)
        }
    }
}

extension TaskController {
    /// Ends a task whose supervisor is gone: kills what is left of its containers and
    /// records it STOPPED with a reason that says so.
    public func markLost(_ record: TaskRecord, reason: String) async throws -> TaskRecord {
        for (name, runtimeID) in record.runtimeIDs {
            // Only the same process (same pid *and* start time) is killed: pids get recycled.
            if let pid = Int32(runtimeID), pid > 1, let started = record.processStartTimes?[name],
                ProcStat.startTime(pid) == started
            {
                kill(-pid, SIGKILL)
            }
        }
        return try await store.update(record.id) { r in
            guard r.task.lastStatus != .stopped else { return }
            let now = Date()
            r.task.desiredStatus = "STOPPED"
            r.task.stopCode = r.task.stopCode ?? .userInitiated
            r.task.stoppedReason = r.task.stoppedReason ?? reason
            r.task.stoppingAt = r.task.stoppingAt ?? now
            r.task.stoppedAt = now
            r.task.executionStoppedAt = now
            r.task.lastStatus = .stopped
            if var attachment = r.task.attachments?.first {
                attachment.status = "DELETED"
                r.task.attachments = [attachment]
            }
            r.task.version += 1
            for i in r.task.containers.indices where r.task.containers[i].lastStatus != .stopped {
                r.task.containers[i].lastStatus = .stopped
                r.task.containers[i].reason = "fargate-local lost track of this container (its supervisor exited); it was killed"
            }
            r.clearSupervisor()
        }
    }
}

/// Drops output (a container with no log stream).
struct DiscardingSink: ContainerOutputSink {
    func receive(_ batch: OutputBatch) async {}
}
