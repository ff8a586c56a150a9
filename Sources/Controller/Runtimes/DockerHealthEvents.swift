import ECSModel
import Foundation
import Synchronization

/// Follows the engine's `/events` for Docker's own health checks of fargate-local's
/// containers (`health_status: healthy|unhealthy`) and hands each container's changes to
/// its subscriber. One stream for every container of the runtime, reconnected (from the
/// last event seen) if the engine closes it.
final class DockerHealthEvents: Sendable {
    private let engine: DockerEngine
    private struct State {
        var subscribers: [String: AsyncStream<HealthStatus>.Continuation] = [:]
        var following = false
    }
    private let state = Mutex(State())

    init(engine: DockerEngine) { self.engine = engine }

    /// Health changes of container `id` (its full id), until `unsubscribe`.
    func subscribe(_ id: String) -> AsyncStream<HealthStatus> {
        let (stream, continuation) = AsyncStream.makeStream(of: HealthStatus.self)
        let startFollowing = state.withLock { s -> Bool in
            s.subscribers[id] = continuation
            defer { s.following = true }
            return !s.following
        }
        if startFollowing { follow(since: Date().timeIntervalSince1970 - 1) }
        return stream
    }

    /// Ends container `id`'s stream.
    func unsubscribe(_ id: String) {
        state.withLock { $0.subscribers.removeValue(forKey: id) }?.finish()
    }

    /// Hands a status to its container's subscriber (also used for the status a re-adopted container already has).
    func deliver(_ status: HealthStatus, to id: String) {
        _ = state.withLock { $0.subscribers[id] }?.yield(status)
    }

    private func follow(since: Double) {
        let thread = Thread { [self] in
            var since = since
            let filters = #"{"type":["container"],"event":["health_status"],"label":["dev.fargate-local.task-id"]}"#
            while true {
                try? engine.followEvents(filters: filters, since: since) { event in
                    if let time = event["timeNano"].flatMap({ v -> Double? in if case let .number(n) = v { return Double(n) } else { return nil } }) {
                        since = time / 1e9
                    }
                    guard let id = event["Actor"]?["ID"]?.stringValue ?? event["id"]?.stringValue,
                        let action = event["Action"]?.stringValue ?? event["status"]?.stringValue
                    else { return true }
                    let status: HealthStatus? = action.hasSuffix(": healthy") ? .healthy : action.hasSuffix(": unhealthy") ? .unhealthy : nil
                    if let status { self.deliver(status, to: id) }
                    return true
                }
                // The engine closed the stream (restart): reconnect from the last event seen.
                Thread.sleep(forTimeInterval: 1)
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
