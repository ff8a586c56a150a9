import Synchronization

/// Saves one task's records in the background, in order, so that the supervisor does not
/// wait for SQLite at every transition (each commit costs 0.15-0.3 ms, and a short task has a
/// dozen). When records arrive faster than they are committed, only the newest waiting one
/// is written: a reader sees states in order, possibly skipping ones that lasted under a
/// commit. `flush()` waits until everything submitted is on disk.
final class RecordWriter: Sendable {
    private struct State {
        var pending: TaskRecord?
        var draining = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let store: StateStore
    private let onError: @Sendable (any Error) async -> Void

    init(store: StateStore, onError: @escaping @Sendable (any Error) async -> Void) {
        self.store = store
        self.onError = onError
    }

    /// Queues `record` to be saved after those before it; returns at once.
    func submit(_ record: TaskRecord) {
        let startDraining = state.withLock { s -> Bool in
            s.pending = record
            if s.draining { return false }
            s.draining = true
            return true
        }
        if startDraining {
            Task { await self.drain() }
        }
    }

    /// Returns once every record submitted so far is saved (or failed to be).
    func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { s -> Bool in
                if !s.draining && s.pending == nil { return true }
                s.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func drain() async {
        while true {
            let (next, waiters) = state.withLock { s -> (TaskRecord?, [CheckedContinuation<Void, Never>]) in
                if let record = s.pending {
                    s.pending = nil
                    return (record, [])
                }
                s.draining = false
                defer { s.idleWaiters = [] }
                return (nil, s.idleWaiters)
            }
            guard let next else {
                for waiter in waiters { waiter.resume() }
                return
            }
            do {
                try await store.save(next)
            } catch {
                await onError(error)
            }
        }
    }
}
