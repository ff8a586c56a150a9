import Controller
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Supervises a task in this process until it stops. SIGINT and SIGTERM stop the
/// task the way StopTask does (SIGTERM to containers, then SIGKILL after stopTimeout).
enum Supervision {
    /// `signals`: caught since before the task named this process its supervisor.
    /// `takingOver`: the task was created by another process (`run`, for `supervise`), to
    /// which a stop may have been asked for before this one caught its signals.
    static func run(
        record: TaskRecord, controller: TaskController, runtime: any ContainerRuntime,
        console: (any TaskConsole)?, signals: StopSignalRouter, takingOver: Bool = false
    ) async throws -> TaskRecord {
        let supervisor = controller.supervisor(for: record, runtime: runtime, console: console)
        let store = controller.store
        let id = record.id
        // The first SIGINT or SIGTERM stops the task gracefully; a second kills its
        // containers at once (as a second Ctrl-C does in docker compose).
        signals.attach { sig, count in
            Task {
                let asked = try? await store.stopRequest(for: id)
                let reason = asked?.reason ?? StopSignals.reason(for: sig)
                if count == 1 {
                    supervisor.requestStop(reason: reason, code: asked?.code ?? .userInitiated, timeout: asked?.timeoutSeconds)
                    if sig == SIGINT {
                        await console?.event(
                            "interrupted: stopping the task (SIGTERM, then SIGKILL after each container's stopTimeout); Ctrl-C again to kill its containers now"
                        )
                    }
                } else {
                    supervisor.requestImmediateStop(reason: reason)
                }
            }
        }
        // A stop asked for before this process was the task's supervisor (its signal went to
        // the process that was: `run`, which had handed the task over and exited).
        if takingOver, let asked = try? await store.stopRequest(for: id) {
            supervisor.requestStop(reason: asked.reason, code: asked.code, timeout: asked.timeoutSeconds)
        }
        let final = await supervisor.run()
        signals.cancel()
        return final
    }
}
