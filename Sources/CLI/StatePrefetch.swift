import Controller
import Foundation
import Synchronization

/// `run`'s state database, opened on a thread of its own while the command line is parsed:
/// each takes ~2–3 ms, and the machine has more than one core.
///
/// The directory is found from the raw arguments and the environment by the rule the parsed
/// options use (`GlobalOptions.stateDirectory`); `store(for:)` hands the store over only if
/// the parsed options name the same directory, so a wrong guess costs nothing but the work. Only an existing database is opened: a command line that fails to parse
/// creates no state.
final class StatePrefetch: Sendable {
    let directory: URL
    private enum Progress {
        case opening(waiters: [CheckedContinuation<StateStore?, Never>])
        case opened(StateStore?)
    }
    private let progress = Mutex(Progress.opening(waiters: []))

    private init(directory: URL) {
        self.directory = directory
        Thread { [self] in
            let store = try? StateStore(directory: directory)
            let waiters = progress.withLock { progress -> [CheckedContinuation<StateStore?, Never>] in
                defer { progress = .opened(store) }
                if case let .opening(waiters) = progress { return waiters }
                return []
            }
            for waiter in waiters { waiter.resume(returning: store) }
        }.start()
    }

    /// Starts opening the state for `run` (not for a run through `--endpoint`).
    static func begin(arguments: [String], environment: [String: String]) -> StatePrefetch? {
        guard arguments.dropFirst().first == "run" else { return nil }
        var stateDirectory: String?
        var remote = !(environment["FARGATE_LOCAL_ENDPOINT"] ?? "").isEmpty
        var i = 2
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "--" { break }
            if argument == "--state-dir", i + 1 < arguments.count {
                stateDirectory = arguments[i + 1]
                i += 1
            } else if argument.hasPrefix("--state-dir=") {
                stateDirectory = String(argument.dropFirst("--state-dir=".count))
            } else if argument == "--endpoint" || argument.hasPrefix("--endpoint=") {
                remote = true
            }
            i += 1
        }
        guard !remote else { return nil }
        let directory = GlobalOptions.stateDirectory(option: stateDirectory, environment: environment)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("state.sqlite").path) else { return nil }
        return StatePrefetch(directory: directory)
    }

    /// The opened store if it is `directory`'s (nil if another, or if it could not be opened:
    /// the caller then opens it itself and reports any error). Waits until the open ends.
    func store(for directory: URL) async -> StateStore? {
        guard directory.path == self.directory.path else { return nil }
        return await withCheckedContinuation { continuation in
            let opened = progress.withLock { progress -> StateStore?? in
                switch progress {
                case let .opened(store): return .some(store)
                case var .opening(waiters):
                    waiters.append(continuation)
                    progress = .opening(waiters: waiters)
                    return nil
                }
            }
            if let opened { continuation.resume(returning: opened) }
        }
    }
}
