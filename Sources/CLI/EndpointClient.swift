import CurlHTTP
import ECSModel
import Foundation

/// The CLI's client for a running controller (`--endpoint` / `FARGATE_LOCAL_ENDPOINT`):
/// the same ECS and CloudWatch Logs JSON API the aws CLI uses.
struct EndpointClient {
    let endpoint: String

    func call(_ target: String, _ body: JSONValue) async throws -> JSONValue {
        let request = HTTPRequest(
            method: "POST", url: endpoint.hasSuffix("/") ? endpoint : endpoint + "/",
            headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target)],
            body: Array(body.serialized().utf8), timeoutSeconds: 30)
        let response: HTTPResponse
        do {
            response = try await HTTPClient().sendAsync(request)
        } catch {
            throw CLIError("cannot reach the controller at \(endpoint): \(error.message)")
        }
        let parsed = try? JSONParser.parse(response.body)
        guard response.status == 200, let parsed else {
            let type = parsed?["__type"]?.stringValue ?? "HTTP \(response.status)"
            throw CLIError("\(type): \(parsed?["message"]?.stringValue ?? response.bodyText)")
        }
        return parsed
    }

    func ecs(_ operation: String, _ body: JSONValue) async throws -> JSONValue {
        try await call("AmazonEC2ContainerServiceV20141113.\(operation)", body)
    }

    func logs(_ operation: String, _ body: JSONValue) async throws -> JSONValue {
        try await call("Logs_20140328.\(operation)", body)
    }

    /// Every task ARN (RUNNING, and STOPPED when `stopped`), following nextToken.
    func taskArns(includeStopped: Bool, family: String? = nil, startedBy: String? = nil) async throws -> [String] {
        var arns: [String] = []
        for status in includeStopped ? ["RUNNING", "STOPPED"] : ["RUNNING"] {
            var token: String?
            repeat {
                var body: [(key: String, value: JSONValue)] = [("desiredStatus", .string(status)), ("maxResults", .number("100"))]
                if let family { body.append(("family", .string(family))) }
                if let startedBy { body.append(("startedBy", .string(startedBy))) }
                if let token { body.append(("nextToken", .string(token))) }
                let page = try await ecs("ListTasks", .object(body))
                if case let .array(items)? = page["taskArns"] { arns += items.compactMap(\.stringValue) }
                token = page["nextToken"]?.stringValue
            } while token != nil
        }
        return arns
    }

    /// Tasks by ARN, as DescribeTasks returns them (decoded).
    func tasks(_ arns: [String]) async throws -> [ECSTask] {
        var out: [ECSTask] = []
        for start in stride(from: 0, to: arns.count, by: 100) {
            let batch = Array(arns[start..<min(arns.count, start + 100)])
            let result = try await ecs("DescribeTasks", .object([("tasks", .array(batch.map { .string($0) }))]))
            if case let .array(items)? = result["tasks"] {
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .secondsSince1970
                for item in items { out.append(try decoder.decode(ECSTask.self, from: Data(item.serialized().utf8))) }
            }
        }
        return out
    }

    /// Resolves an id, an unambiguous id prefix or an ARN to a task ARN.
    func resolve(_ reference: String) async throws -> String {
        if reference.hasPrefix("arn:") { return reference }
        let all = try await taskArns(includeStopped: true)
        let matches = all.filter { ($0.split(separator: "/").last ?? "").hasPrefix(reference.lowercased()) }
        guard !reference.isEmpty, let first = matches.first else { throw CLIError("no task matches \"\(reference)\"") }
        if matches.count > 1 && !matches.contains(where: { $0.hasSuffix("/" + reference) }) {
            throw CLIError(
                "task id prefix \"\(reference)\" is ambiguous: it matches \(matches.prefix(3).map { String($0.split(separator: "/").last ?? "") }.joined(separator: ", "))"
            )
        }
        return matches.first { $0.hasSuffix("/" + reference) } ?? first
    }

    /// The task's log streams (group, stream, container), found by the task id at the end of the stream name.
    func logStreams(taskID: String) async throws -> [(group: String, stream: String, container: String)] {
        var out: [(String, String, String)] = []
        let groups = try await logs("DescribeLogGroups", .object([]))
        guard case let .array(list)? = groups["logGroups"] else { return [] }
        for group in list.compactMap({ $0["logGroupName"]?.stringValue }) {
            let streams = try await logs("DescribeLogStreams", .object([("logGroupName", .string(group))]))
            guard case let .array(items)? = streams["logStreams"] else { continue }
            for name in items.compactMap({ $0["logStreamName"]?.stringValue }) where name.hasSuffix("/" + taskID) {
                let parts = name.split(separator: "/")
                out.append((group, name, parts.count >= 2 ? String(parts[parts.count - 2]) : name))
            }
        }
        return out
    }
}

extension GlobalOptions {
    /// The controller to talk to, when one is named (`--endpoint` or `FARGATE_LOCAL_ENDPOINT`).
    var endpointClient: EndpointClient? {
        let url = endpoint ?? ProcessInfo.processInfo.environment["FARGATE_LOCAL_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        return url.map { EndpointClient(endpoint: $0) }
    }
}
