import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM and SIGHUP as a command that follows a task takes them: the first asks
/// for a graceful stop, a second for more (kill now, or stop following). SIGHUP (the
/// terminal closed, an ssh session dropped) stops the task as SIGTERM does, rather than
/// ending the process and leaving its task running with no supervisor.
enum StopSignals {
    /// The signals a task's foreground supervisor stops its task on.
    static let stopping = [SIGINT, SIGTERM, SIGHUP]

    /// Hands each of `stopping` to `handler` with how many of them have come, this one
    /// included (1 for the first). Their default action (ending the process) is off until
    /// the returned sources are cancelled.
    static func watch(_ handler: @escaping @Sendable (_ signal: Int32, _ count: Int) -> Void) -> [any DispatchSourceSignal] {
        let seen = Mutex(0)
        return stopping.map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let count = seen.withLock { n in
                    n += 1
                    return n
                }
                handler(sig, count)
            }
            source.resume()
            return source
        }
    }

    /// The stop reason ECS would record for a stop asked for by `signal`.
    static func reason(for signal: Int32) -> String {
        switch signal {
        case SIGINT: "Task stopped by user (interrupted)"
        case SIGHUP: "Task stopped by user (hangup: its terminal closed)"
        default: "Task stopped by user"
        }
    }
}
