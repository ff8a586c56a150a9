import Controller
import ECSModel
import Foundation

/// Waiting for tasks to stop, for `stop --wait`, `wait` and `run --endpoint --wait`, and the
/// exit code such a task gives, as `run --wait` returns it.
enum TaskWaiting {
    /// Waits until task `id` of `store` is STOPPED and returns its record. A task whose
    /// supervising process has exited (for 2 s) without stopping it is an error that says so,
    /// rather than a wait forever.
    static func untilStopped(_ id: String, in store: StateStore) async throws -> TaskRecord {
        var unsupervisedSince: ContinuousClock.Instant?
        while true {
            guard let record = try await store.task(id: id) else { throw CLIError("task \(id) is gone from the state directory") }
            if record.task.lastStatus == .stopped { return record }
            if record.runningSupervisorPID != nil {
                unsupervisedSince = nil
            } else if let since = unsupervisedSince {
                if ContinuousClock.now - since > .seconds(2) {
                    throw CLIError(
                        "task \(id) is \(record.task.lastStatus.rawValue) and the process that supervised it has exited; `fargate-local serve` on this state directory takes such tasks over"
                    )
                }
            } else {
                unsupervisedSince = ContinuousClock.now
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Waits until the task `arn` that the controller at `client` runs is STOPPED.
    static func untilStopped(_ arn: String, through client: EndpointClient) async throws -> ECSTask {
        while true {
            guard let task = try await client.tasks([arn]).first else { throw CLIError("task \(arn) is gone from the controller at \(client.endpoint)") }
            if task.lastStatus == .stopped { return task }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// The exit code of a stopped task seen through the API, as `run --wait` gives it: 125 when
    /// it failed to start, 124 when `--timeout` stopped it, else the first non-zero exit code of
    /// its `essentials` (its first, when all are 0; 1 when none has one).
    static func exitCode(of task: ECSTask, essentials: Set<String>) -> Int32 {
        if task.stopCode == .taskFailedToStart { return 125 }
        if task.stoppedReason?.hasPrefix(TaskRecord.timeoutReasonPrefix) == true { return 124 }
        let codes = task.containers.filter { essentials.contains($0.name) }.compactMap(\.exitCode)
        return Int32(truncatingIfNeeded: codes.first { $0 != 0 } ?? codes.first ?? 1)
    }
}
