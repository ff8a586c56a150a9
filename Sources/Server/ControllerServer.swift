import Controller
import ECSModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// fargate-local's HTTP front: ECS and CloudWatch Logs (AWS JSON 1.1 on `POST /`),
/// task metadata (`/v4/...`, `/v3/...`) and the container credentials endpoint
/// (`/v2/credentials/<task>`, token-protected).
public struct ControllerServer: Sendable {
    public let host: TaskHost
    public let controller: TaskController
    public let credentials: CredentialsProvider

    /// The users whose requests the ECS and Logs APIs answer (uids): by default the user
    /// running fargate-local, and root. Connections from elsewhere than this machine (only
    /// possible with `serve --host` on a non-loopback address) are not checked.
    public let allowedUsers: Set<UInt32>

    /// A server over `host`'s tasks; the caller's own user and root may always call it.
    public init(host: TaskHost, controller: TaskController, credentials: CredentialsProvider, allowedUsers: Set<UInt32> = []) {
        self.host = host
        self.controller = controller
        self.credentials = credentials
        self.allowedUsers = allowedUsers.union([geteuid(), 0])
    }

    /// The refusal for a request to the APIs from a user of this machine who is not allowed;
    /// nil when the request may go on.
    func refusal(_ context: ConnectionRequestContext) -> Response? {
        guard let client = context.remoteAddress, let server = context.localAddress,
            let uid = PeerUser.uid(client: client, server: server), !allowedUsers.contains(uid)
        else { return nil }
        let owner = geteuid()
        var allowed = owner == 0 ? ["root (uid 0)"] : ["the user running it (uid \(owner))", "root"]
        let others = allowedUsers.subtracting([owner, 0]).sorted().map(String.init)
        if !others.isEmpty { allowed.append("uid\(others.count == 1 ? "" : "s") \(others.joined(separator: ", ")) (serve --allow-user)") }
        let list = allowed.count == 1 ? allowed[0] : allowed.dropLast().joined(separator: ", ") + " and " + (allowed.last ?? "")
        return Self.error(
            APIError(
                "AccessDeniedException",
                "fargate-local's API answers only \(list); this request came from uid \(uid). Whoever may run tasks here may mount this machine's folders into them: serve --allow-user USER lets another user in.",
                status: 403))
    }

    static let maxBody = 16 << 20

    /// What a listener serves.
    public enum Surface: Sendable {
        /// Everything: the ECS and CloudWatch Logs APIs too (on 127.0.0.1, for the host).
        case full
        /// What a task reaches at 169.254.170.2, as the ECS agent serves it there: task
        /// metadata, container credentials and the agent's endpoints; never the APIs, which
        /// would let any container on the Docker bridge read other tasks' overrides or run
        /// tasks that mount the host.
        case taskEndpoints
    }

    /// The router with every route of `surface`.
    public func buildRouter(surface: Surface = .full) -> Router<ConnectionRequestContext> {
        let router = Router(context: ConnectionRequestContext.self)
        let ecs = ECSOperations(host: host, controller: controller)
        let logs = LogsOperations(logs: controller.logs, arns: controller.arns)
        let metadata = TaskMetadata(controller: controller)
        let credentials = self.credentials
        let store = controller.store

        router.post("/") { request, context -> Response in
            guard case .full = surface else {
                return Self.error(
                    APIError(
                        "AccessDeniedException",
                        "This is the listener for containers' 169.254.170.2 (task metadata, credentials, the agent's endpoints); fargate-local's ECS and CloudWatch Logs APIs are served on 127.0.0.1 only.",
                        status: 403))
            }
            if let refusal = self.refusal(context) { return refusal }
            let target = HTTPField.Name("X-Amz-Target").flatMap { request.headers[$0] } ?? ""
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: Self.maxBody) } catch {
                return Self.error(APIError("SerializationException", "The request body is larger than \(Self.maxBody) bytes."))
            }
            do {
                let parsed = try APIRequest(bytes: Array(buffer: body))
                let result: JSONValue
                if target.hasPrefix("AmazonEC2ContainerServiceV20141113.") {
                    result = try await ecs.handle(String(target.dropFirst("AmazonEC2ContainerServiceV20141113.".count)), parsed)
                } else if target.hasPrefix("Logs_20140328.") {
                    result = try await logs.handle(String(target.dropFirst("Logs_20140328.".count)), parsed)
                } else {
                    throw APIError(
                        "UnknownOperationException",
                        "Unknown X-Amz-Target \"\(target)\"; fargate-local serves AmazonEC2ContainerServiceV20141113.* and Logs_20140328.*.")
                }
                return Self.json(result)
            } catch {
                return Self.error(error)
            }
        }
        for version in [3, 4] {
            router.get("/v\(version)/{container}") { _, context -> Response in
                try await Self.metadata(metadata, version, context, "")
            }
            for rest in ["task", "taskWithTags", "stats"] {
                router.get("/v\(version)/{container}/\(rest)") { _, context -> Response in
                    try await Self.metadata(metadata, version, context, "/\(rest)")
                }
            }
            router.get("/v\(version)/{container}/task/stats") { _, context -> Response in
                try await Self.metadata(metadata, version, context, "/task/stats")
            }
        }
        router.get("/v2/credentials/{task}") { request, context -> Response in
            // `/v2/credentials/TASK` with the token in Authorization (FULL_URI, process runtime), or
            // `/v2/credentials/TASK-TOKEN` (RELATIVE_URI via 169.254.170.2, Docker runtime).
            var taskID = context.parameters.get("task") ?? ""
            var offered = request.headers[.authorization] ?? ""
            if let dash = taskID.firstIndex(of: "-") {
                offered = String(taskID[taskID.index(after: dash)...])
                taskID = String(taskID[..<dash])
            }
            guard let record = try? await store.task(id: taskID), let expected = record.credentialsToken,
                Self.constantTimeEqual(offered, expected)
            else {
                return Self.error(APIError("AccessDenied", "Missing or invalid authorization token for this task's credentials.", status: 403))
            }
            do {
                return Self.json(CredentialsProvider.json(try credentials.credentials(for: record)))
            } catch {
                return Self.error(error)
            }
        }
        // The agent's task scale-in protection endpoint ($ECS_AGENT_URI/task-protection/v1/state).
        router.get("/api/{container}/task-protection/v1/state") { request, context -> Response in
            await Self.agentTaskProtection(store, request, endpointID: context.parameters.get("container") ?? "", updating: false)
        }
        router.put("/api/{container}/task-protection/v1/state") { request, context -> Response in
            await Self.agentTaskProtection(store, request, endpointID: context.parameters.get("container") ?? "", updating: true)
        }
        router.get("/health") { _, _ -> Response in Self.json(.object([("status", .string("ok"))])) }
        // fargate-local's own: another process recorded stop requests for tasks supervised here.
        if case .full = surface {
            let host = self.host
            router.post(RouterPath(SupervisorContact.requestedStopsPath)) { request, context -> Response in
                if let refusal = self.refusal(context) { return refusal }
                let body = try? await request.body.collect(upTo: 1 << 16)
                guard let fields = body.flatMap({ try? JSONParser.parse(Array(buffer: $0)) }), let id = fields["task"]?.stringValue else {
                    return Self.error(APIError.invalidParameter("a stop request needs the task's id in \"task\""))
                }
                let code = fields["stopCode"]?.stringValue.flatMap(StopCode.init(rawValue:)) ?? .userInitiated
                guard
                    await host.applyStop(
                        id, reason: fields["reason"]?.stringValue ?? "Task stopped by user", code: code, timeout: fields["timeoutSeconds"]?.intValue)
                else {
                    return Self.error(APIError("ResourceNotFoundException", "task \(id) is not supervised here", status: 404))
                }
                return Self.json(.object([("stopping", .string(id))]), contentType: "application/json")
            }
        }
        return router
    }

    /// The ECS agent's task scale-in protection endpoint, answered as the agent answers a
    /// standalone task: a PUT must carry `ProtectionEnabled`; a task without a task role gets
    /// AccessDeniedException (the agent calls ECS with the task's role); otherwise ECS's
    /// TASK_NOT_VALID failure, since protection is for the tasks of a service.
    static func agentTaskProtection(_ store: StateStore, _ request: Request, endpointID: String, updating: Bool) async -> Response {
        func answer(_ status: Int, _ body: [(key: String, value: JSONValue)]) -> Response {
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(
                status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(body).serialized())))
        }
        func error(_ status: Int, arn: String, _ code: String, _ message: String) -> Response {
            answer(status, [("error", .object((arn.isEmpty ? [] : [("Arn", .string(arn))]) + [("Code", .string(code)), ("Message", .string(message))]))])
        }
        var requestedProtection: Bool?
        if updating {
            let body = try? await request.body.collect(upTo: 1 << 16)
            let fields = body.flatMap { try? JSONParser.parse(Array(buffer: $0)) }?.objectMembers
            guard let fields, fields.allSatisfy({ ["ProtectionEnabled", "ExpiresInMinutes"].contains($0.key) }) else {
                return error(400, arn: "", "InvalidParameterException", "UpdateTaskProtection: failed to decode request")
            }
            requestedProtection = fields.first { $0.key == "ProtectionEnabled" }.flatMap { if case let .bool(b) = $0.value { b } else { nil } }
        }
        let taskID = String(endpointID.prefix { $0 != "-" })
        guard let record = try? await store.task(id: taskID), record.container(named: String(endpointID.dropFirst(taskID.count + 1))) != nil else {
            return error(404, arn: "", "ResourceNotFoundException", "unable to get task Arn from v3 endpoint ID \(endpointID)")
        }
        let arn = record.task.taskArn
        if updating, requestedProtection == nil {
            return error(400, arn: arn, "InvalidParameterException", "Invalid request: does not contain 'ProtectionEnabled' field")
        }
        guard !(record.task.overrides.taskRoleArn ?? record.definition.taskRoleArn ?? "").isEmpty else {
            return error(403, arn: arn, "AccessDeniedException", "Invalid Request: no task IAM role credentials available for task")
        }
        return answer(200, [("failure", .object([("Arn", .string(arn)), ("Detail", .null), ("Reason", .string("TASK_NOT_VALID"))]))])
    }

    static func metadata(_ m: TaskMetadata, _ version: Int, _ context: ConnectionRequestContext, _ rest: String) async throws -> Response {
        do {
            return json(
                try await m.handle(version: version, containerID: context.parameters.get("container") ?? "", rest: rest), contentType: "application/json")
        } catch {
            return Self.error(error)
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count, !y.isEmpty else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    static func json(_ value: JSONValue, contentType: String = "application/x-amz-json-1.1") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    static func error(_ error: any Error) -> Response {
        let e = (error as? APIError) ?? APIError.server("\(error)")
        var headers = HTTPFields()
        headers[.contentType] = "application/x-amz-json-1.1"
        if let errorType = HTTPField.Name("x-amzn-ErrorType") { headers[errorType] = e.type }
        let body = JSONValue.object([("__type", .string(e.type)), ("message", .string(e.message))]).serialized()
        return Response(status: HTTPResponse.Status(code: e.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A running server: its port, and how to stop it.
    public struct Running: Sendable {
        public let port: Int
        let task: Task<Void, any Error>
        /// Stops accepting requests.
        public func stop() async {
            task.cancel()
            _ = try? await task.value
        }
    }

    /// Starts listening on `address:port` (port 0 picks a free port) and returns once bound;
    /// it serves `surface`.
    public func start(address: String, port: Int, surface: Surface = .full) async throws -> Running {
        var logger = Logger(label: "fargate-local")
        logger.logLevel = .critical
        LatencyTrace.mark("api: starting")
        let router = buildRouter(surface: surface)
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(address, port: port), serverName: "fargate-local"),
            onServerRunning: { channel in
                LatencyTrace.mark("api: listening")
                continuation.yield(channel.localAddress?.port ?? port)
                continuation.finish()
            },
            logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await app.run()
        }
        var iterator = stream.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            do { try await task.value } catch { throw ControllerError(.io, "cannot listen on \(address):\(port): \(error)") }
            throw ControllerError(.io, "cannot listen on \(address):\(port)")
        }
        return Running(port: bound, task: task)
    }
}
