import ECSModel
import Foundation
import ShimCore

#if canImport(Glibc)
import Glibc
#endif

/// Tells the process supervising a task that a stop was asked for. The request is saved
/// first (`StateStore.requestStop`), where a process that supervises the task alone reads it
/// on its SIGTERM (or as it starts); a process supervising several gets it in the request
/// to its API.
public enum SupervisorContact {
    /// What became of telling a task's supervisor to stop it.
    public enum Outcome: Sendable, Equatable {
        /// The supervisor was told; it stops the task.
        case told
        /// The supervisor supervises several tasks and its API did not answer (`why`).
        case unreachable(String)
        /// No process supervises the task any more.
        case gone
    }

    /// The route of a supervising process's API that applies saved stop requests.
    public static let requestedStopsPath = "/fargate-local/requested-stops"

    /// Tells the process that supervises `record`'s task that `stop` was saved for it: by SIGTERM
    /// when it supervises that task alone, else through its API.
    public static func announceStop(_ record: TaskRecord, _ stop: StopRequest) async -> Outcome {
        guard let pid = record.runningSupervisorPID, pid != getpid() else { return .gone }
        guard let api = record.supervisorAPI else {
            // It supervises this task alone: SIGTERM is StopTask to it.
            kill(pid, SIGTERM)
            return .told
        }
        guard let colon = api.lastIndex(of: ":"), let port = Int(api[api.index(after: colon)...]) else {
            return .unreachable("the supervisor's API address \(api) is not HOST:PORT")
        }
        var host = String(api[..<colon])
        if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
        let http = EngineHTTP(address: .tcp(host: host, port: port))
        do {
            var request: [(key: String, value: JSONValue)] = [
                ("task", .string(record.id)), ("reason", .string(stop.reason)), ("stopCode", .string(stop.code.rawValue)),
            ]
            if let timeout = stop.timeoutSeconds { request.append(("timeoutSeconds", .number(String(timeout)))) }
            let body = Array(JSONValue.object(request).serialized().utf8)
            let r = try await Blocking.run {
                try http.send(
                    method: "POST", target: requestedStopsPath, headers: [("Content-Type", "application/json")], body: body, timeoutSeconds: 10,
                    stallTimeoutSeconds: 10)
            }
            // 404: not supervised there (any more): it has just stopped.
            if r.status == 404 { return .gone }
            guard r.status == 200 else { return .unreachable("\(api) answered HTTP \(r.status)") }
            return .told
        } catch {
            return .unreachable("\(api): \(error)")
        }
    }

    /// `host:port` of an API's base URL (`http://127.0.0.1:8790`).
    public static func apiAddress(ofBaseURL url: String) -> String? {
        guard let parsed = URLComponents(string: url), let host = parsed.host, let port = parsed.port else { return nil }
        return "\(host):\(port)"
    }
}

/// A stop asked for from outside the process supervising a task: `fargate-local stop`,
/// StopTask at another controller.
public struct StopRequest: Sendable, Equatable {
    /// The stoppedReason to record (at most 255 characters).
    public var reason: String
    /// Seconds before SIGKILL (`stop --time`), instead of each container's stopTimeout.
    public var timeoutSeconds: Int?
    /// UserInitiated, or TerminationNotice for `stop --spot-interruption`.
    public var code: StopCode

    public init(reason: String, timeoutSeconds: Int? = nil, code: StopCode = .userInitiated) {
        self.reason = String(reason.prefix(255))
        self.timeoutSeconds = timeoutSeconds
        self.code = code
    }
}
