import Dispatch
import Synchronization

/// SIGINT, SIGTERM and SIGHUP caught from before a task is recorded with this process as its
/// supervisor, so that a stop asked for while the process is still starting (`fargate-local
/// stop` on a task just run, Ctrl-C) neither kills the process, leaving its task
/// PROVISIONING with nobody to stop it, nor is lost: the signals are kept, and handed over
/// once the task's supervisor exists (`attach`).
final class StopSignalRouter: Sendable {
    private struct State {
        var handler: (@Sendable (_ signal: Int32, _ count: Int) -> Void)?
        var pending: [(signal: Int32, count: Int)] = []
    }

    /// The state, shared with the signal handlers.
    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private let box = Box()
    private let sources: Mutex<[any DispatchSourceSignal]>

    init() {
        let box = self.box
        sources = Mutex(
            StopSignals.watch { sig, count in
                let handler = box.state.withLock { s -> (@Sendable (Int32, Int) -> Void)? in
                    if s.handler == nil { s.pending.append((sig, count)) }
                    return s.handler
                }
                handler?(sig, count)
            })
    }

    /// Hands the signals that came so far, then each new one, to `handler`.
    func attach(_ handler: @escaping @Sendable (_ signal: Int32, _ count: Int) -> Void) {
        let pending = box.state.withLock { s -> [(signal: Int32, count: Int)] in
            s.handler = handler
            defer { s.pending.removeAll() }
            return s.pending
        }
        for (sig, count) in pending { handler(sig, count) }
    }

    /// Stops watching the signals.
    func cancel() {
        for source in sources.withLock({ $0 }) { source.cancel() }
    }
}
