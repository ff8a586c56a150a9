import Controller
import ECSModel
import Foundation

/// The ECS operations (AmazonEC2ContainerServiceV20141113.*) over the controller.
struct ECSOperations: Sendable {
    let host: TaskHost
    let controller: TaskController

    var store: StateStore { controller.store }
    var arns: ARNFactory { controller.arns }

    func handle(_ operation: String, _ r: APIRequest) async throws(APIError) -> JSONValue {
        do {
            switch operation {
            case "RegisterTaskDefinition": return try await registerTaskDefinition(r)
            case "DescribeTaskDefinition": return try await describeTaskDefinition(r)
            case "DeregisterTaskDefinition": return try await deregisterTaskDefinition(r)
            case "DeleteTaskDefinitions": return try await deleteTaskDefinitions(r)
            case "ListTaskDefinitions": return try await listTaskDefinitions(r)
            case "ListTaskDefinitionFamilies": return try await listTaskDefinitionFamilies(r)
            case "CreateCluster": return try await createCluster(r)
            case "DescribeClusters": return try await describeClusters(r)
            case "ListClusters": return try await listClusters(r)
            case "DeleteCluster": return try await deleteCluster(r)
            case "RunTask": return try await runTask(r)
            case "DescribeTasks": return try await describeTasks(r)
            case "ListTasks": return try await listTasks(r)
            case "StopTask": return try await stopTask(r)
            case "ExecuteCommand": return try await executeCommand(r)
            case "GetTaskProtection": return try await taskProtection(r, updating: false)
            case "UpdateTaskProtection": return try await taskProtection(r, updating: true)
            case "TagResource": return try await tagResource(r)
            case "UntagResource": return try await untagResource(r)
            case "ListTagsForResource": return try await listTagsForResource(r)
            default:
                throw APIError("UnknownOperationException", "fargate-local does not implement ECS operation \(operation).")
            }
        } catch let e as APIError {
            throw e
        } catch let e as ControllerError {
            switch e.code {
            case .invalidInput: throw APIError.client(e.message)
            case .notFound, .ambiguous: throw APIError.invalidParameter(e.message)
            case .state, .io: throw APIError.server(e.message)
            case .unsupportedPlatform: throw APIError("PlatformTaskDefinitionIncompatibilityException", e.message)
            }
        } catch {
            throw APIError.server("\(error)")
        }
    }

    // MARK: Task definitions

    func taskDefinitionJSON(_ r: StateStore.RegisteredTaskDefinition) -> JSONValue {
        var doc = r.document.removing("tags")
        let td = r.definition
        doc = doc.setting("taskDefinitionArn", to: .string(td.taskDefinitionArn ?? ""))
            .setting("revision", to: WireJSON.number(td.revision ?? 0))
            .setting("status", to: .string(td.status ?? "ACTIVE"))
            .setting("compatibilities", to: WireJSON.strings(["EC2", "FARGATE"]))
            .setting("requiresAttributes", to: .array([]))
            .setting("registeredBy", to: .string("arn:aws:iam::\(arns.account):root"))
        if let at = td.registeredAt { doc = doc.setting("registeredAt", to: WireJSON.number(at)) }
        if let at = r.deregisteredAt { doc = doc.setting("deregisteredAt", to: WireJSON.number(at)) }
        for key in ["volumes", "placementConstraints"] where doc[key] == nil { doc = doc.setting(key, to: .array([])) }
        return doc
    }

    func registerTaskDefinition(_ r: APIRequest) async throws -> JSONValue {
        let loaded = TaskDefinitionLoader.load(json: r.body, launchType: .fargate)
        if let first = loaded.diagnostics.errors.first {
            throw APIError.client(first.path.isEmpty ? first.message : "\(first.path): \(first.message)")
        }
        let td = try await controller.register(loaded, reuseIdentical: false)
        guard let registered = try await store.registeredTaskDefinition(td.taskDefinitionArn ?? "") else {
            throw APIError.server("the registered task definition could not be read back")
        }
        return .object([("taskDefinition", taskDefinitionJSON(registered)), ("tags", WireJSON.value(registered.tags))])
    }

    func describeTaskDefinition(_ r: APIRequest) async throws -> JSONValue {
        let ref = try r.requiredString("taskDefinition")
        try await store.purgeDeletedTaskDefinitions()
        guard let registered = try await store.registeredTaskDefinition(ref) else {
            throw APIError.client("Unable to describe task definition.")
        }
        var out: [(key: String, value: JSONValue)] = [("taskDefinition", taskDefinitionJSON(registered))]
        if (try r.strings("include") ?? []).contains("TAGS") { out.append(("tags", WireJSON.value(registered.tags))) }
        return .object(out)
    }

    func deregisterTaskDefinition(_ r: APIRequest) async throws -> JSONValue {
        let ref = try r.requiredString("taskDefinition")
        guard ref.contains(":"), let registered = try await store.deregisterTaskDefinition(ref) else {
            throw APIError.client("The specified task definition does not exist. Specify family:revision or the full ARN.")
        }
        return .object([("taskDefinition", taskDefinitionJSON(registered))])
    }

    /// ECS's DeleteTaskDefinitions: 1 to 10 INACTIVE revisions become DELETE_IN_PROGRESS
    /// (and go once no unstopped task uses them); an ACTIVE or unknown one is a failure.
    func deleteTaskDefinitions(_ r: APIRequest) async throws -> JSONValue {
        guard let refs = try r.strings("taskDefinitions"), !refs.isEmpty else {
            throw APIError.invalidParameter("taskDefinitions cannot be empty.")
        }
        guard refs.count <= 10 else {
            throw APIError.invalidParameter("taskDefinitions can have at most 10 items.")
        }
        var deleted: [JSONValue] = []
        var failures: [JSONValue] = []
        func failure(_ ref: String, _ reason: String) {
            failures.append(.object([("arn", .string(ref)), ("reason", .string(reason))]))
        }
        for ref in refs {
            guard ref.contains(":") else {
                failure(ref, "The specified task definition identifier is invalid. Specify family:revision or the full ARN.")
                continue
            }
            switch try await store.deleteTaskDefinition(ref) {
            case let .deleting(registered): deleted.append(taskDefinitionJSON(registered))
            case let .active(registered):
                failure(
                    registered.definition.taskDefinitionArn ?? ref, "The specified task definition is still in ACTIVE status. Deregister it before deleting it."
                )
            case .notFound: failure(ref, "The specified task definition does not exist.")
            }
        }
        try await store.purgeDeletedTaskDefinitions()
        return .object([("taskDefinitions", .array(deleted)), ("failures", .array(failures))])
    }

    func listTaskDefinitions(_ r: APIRequest) async throws -> JSONValue {
        let status = try r.string("status") ?? "ACTIVE"
        try Self.requireTaskDefinitionStatus(status)
        try await store.purgeDeletedTaskDefinitions()
        let descending = try r.string("sort") == "DESC"
        let all = try await store.taskDefinitionArns(familyPrefix: try r.string("familyPrefix"), status: status, descending: descending)
        let (page, next) = try Paging.page(all, r)
        return Paging.response("taskDefinitionArns", page, next)
    }

    func listTaskDefinitionFamilies(_ r: APIRequest) async throws -> JSONValue {
        let status = try r.string("status") ?? "ACTIVE"
        if status != "ALL" { try Self.requireTaskDefinitionStatus(status) }
        try await store.purgeDeletedTaskDefinitions()
        let all = try await store.families(prefix: try r.string("familyPrefix"), status: status == "ALL" ? nil : status)
        let (page, next) = try Paging.page(all, r)
        return Paging.response("families", page, next)
    }

    /// A task definition status a listing may ask for.
    static func requireTaskDefinitionStatus(_ status: String) throws(APIError) {
        guard ["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"].contains(status) else {
            throw APIError.invalidParameter(
                "1 validation error detected: Value '\(status)' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [ACTIVE, INACTIVE, DELETE_IN_PROGRESS]"
            )
        }
    }

    // MARK: Clusters

    func clusterName(_ ref: String?) -> String {
        guard let ref, !ref.isEmpty else { return "default" }
        if ref.hasPrefix("arn:"), let slash = ref.lastIndex(of: "/") { return String(ref[ref.index(after: slash)...]) }
        return ref
    }

    /// The cluster's name, or ClusterNotFoundException.
    func existingCluster(_ ref: String?) async throws -> String {
        let name = clusterName(ref)
        if name == "default" { return name }
        guard try await store.clusters().contains(where: { $0.name == name && $0.status == "ACTIVE" }) else { throw APIError.clusterNotFound }
        return name
    }

    func clusterJSON(_ name: String, status: String) async throws -> JSONValue {
        let arn = arns.cluster(name)
        let tasks = try await store.tasks(desiredStatus: "RUNNING").filter { $0.task.clusterArn == arn }
        let running = tasks.filter { $0.task.lastStatus == .running }.count
        return .object([
            ("clusterArn", .string(arn)), ("clusterName", .string(name)), ("status", .string(status)),
            ("registeredContainerInstancesCount", .number("0")), ("runningTasksCount", WireJSON.number(running)),
            ("pendingTasksCount", WireJSON.number(tasks.count - running)), ("activeServicesCount", .number("0")),
            ("capacityProviders", WireJSON.strings(["FARGATE", "FARGATE_SPOT"])),
        ])
    }

    func createCluster(_ r: APIRequest) async throws -> JSONValue {
        let name = try r.string("clusterName") ?? "default"
        guard TaskDefinitionValidator.isValidName(name) else {
            throw APIError.invalidParameter("Cluster name can be up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.")
        }
        _ = try await store.createCluster(name: name, arn: arns.cluster(name))
        return .object([("cluster", try await clusterJSON(name, status: "ACTIVE"))])
    }

    func describeClusters(_ r: APIRequest) async throws -> JSONValue {
        let refs = try r.strings("clusters") ?? ["default"]
        let known = try await store.clusters()
        var clusters: [JSONValue] = []
        var failures: [JSONValue] = []
        for ref in refs {
            let name = clusterName(ref)
            if name == "default" {
                clusters.append(try await clusterJSON(name, status: "ACTIVE"))
            } else if let c = known.first(where: { $0.name == name }) {
                clusters.append(try await clusterJSON(name, status: c.status))
            } else {
                failures.append(.object([("arn", .string(arns.cluster(name))), ("reason", .string("MISSING"))]))
            }
        }
        return .object([("clusters", .array(clusters)), ("failures", .array(failures))])
    }

    func listClusters(_ r: APIRequest) async throws -> JSONValue {
        var names = Set(try await store.clusters().filter { $0.status == "ACTIVE" }.map(\.name))
        names.insert("default")
        let (page, next) = try Paging.page(names.sorted().map { arns.cluster($0) }, r)
        return Paging.response("clusterArns", page, next)
    }

    func deleteCluster(_ r: APIRequest) async throws -> JSONValue {
        let name = clusterName(try r.requiredString("cluster"))
        guard name != "default" else { throw APIError.client("The default cluster cannot be deleted in fargate-local.") }
        guard try await store.clusters().contains(where: { $0.name == name && $0.status == "ACTIVE" }) else { throw APIError.clusterNotFound }
        let running = try await store.tasks(desiredStatus: "RUNNING").filter { $0.task.clusterArn == arns.cluster(name) }
        guard running.isEmpty else { throw APIError.client("The Cluster cannot be deleted while Tasks are active.") }
        try await store.setClusterStatus(name: name, status: "INACTIVE")
        return .object([("cluster", try await clusterJSON(name, status: "INACTIVE"))])
    }

    // MARK: Tasks

    func taskJSON(_ record: TaskRecord, includeTags: Bool = true) -> JSONValue {
        var t = record.task
        if !includeTags { t.tags = nil }
        return WireJSON.value(t)
    }

    func runTask(_ r: APIRequest) async throws -> JSONValue {
        let cluster = try await existingCluster(try r.string("cluster"))
        let ref = try r.requiredString("taskDefinition")
        let count = try r.int("count") ?? 1
        guard (1...10).contains(count) else { throw APIError.invalidParameter("count must be between 1 and 10.") }
        let launchType = try r.string("launchType")
        if let lt = launchType, !["FARGATE", "EC2", "EXTERNAL", "MANAGED_INSTANCES"].contains(lt) {
            throw APIError.invalidParameter("launchType \(lt) is not valid.")
        }
        let providers = try CapacityProviderStrategy.assign(r.body["capacityProviderStrategy"], launchType: launchType, count: count)
        if let lt = launchType, lt != "FARGATE" {
            // Fargate is all there is here: a cluster without container instances, as ECS answers.
            throw APIError.invalidParameter("No Container Instances were found in your cluster.")
        }
        let token = try r.string("clientToken")
        if let token {
            guard token.count <= 64 else { throw APIError.invalidParameter("clientToken can be at most 64 characters.") }
            if let previous = try await store.clientToken(token) {
                guard previous.request == r.body.serialized() else {
                    throw APIError.invalidParameter("The clientToken was already used with a different request.")
                }
                var tasks: [JSONValue] = []
                for id in previous.taskIDs { if let rec = try await store.task(id: id) { tasks.append(taskJSON(rec)) } }
                return .object([("tasks", .array(tasks)), ("failures", .array([]))])
            }
        }
        guard let registered = try await store.registeredTaskDefinition(ref) else {
            throw APIError.client("TaskDefinition not found.")
        }
        // A deregistered revision (or one being deleted) runs no new tasks; ECS says so even
        // when it is named by its ARN.
        guard registered.definition.status == "ACTIVE" else {
            throw APIError.invalidParameter("TaskDefinition is inactive")
        }
        var overrides = TaskOverride()
        do throws(TaskOverrideRules.Refusal) {
            if let value = r.body["overrides"], value != .null { overrides = try TaskOverrideRules.decode(value) }
            if let refusal = TaskOverrideRules.refusal(of: overrides, for: registered.definition) { throw refusal }
        } catch let .invalidParameter(message) {
            throw APIError.invalidParameter(message)
        } catch let .client(message) {
            throw APIError.client(message)
        }
        let missingNetworkConfiguration = try Self.checkNetworkConfiguration(r.body["networkConfiguration"], networkMode: registered.definition.networkMode)
        let requestedTags = try r.tags() ?? []
        let tags = try r.string("propagateTags") == "TASK_DEFINITION" ? registered.tags + requestedTags : requestedTags
        var options = RunOptions(startedBy: try r.string("startedBy"), group: try r.string("group"))
        options.enableExecuteCommand = try r.bool("enableExecuteCommand")
        options.imageMap = host.imageMap
        if let startedBy = options.startedBy, startedBy.count > 128 {
            throw APIError.invalidParameter("startedBy can be at most 128 characters.")
        }
        var records: [TaskRecord] = []
        for i in 0..<count {
            var record = try await controller.createTask(definition: registered.definition, overrides: overrides, options: options, cluster: cluster)
            if !tags.isEmpty || providers != nil {
                record = try await store.update(record.id) {
                    if !tags.isEmpty { $0.task.tags = tags }
                    $0.task.capacityProviderName = providers?[i]
                }
            }
            records.append(record)
        }
        if let token { try await store.saveClientToken(token, request: r.body.serialized(), taskIDs: records.map(\.id)) }
        for record in records {
            if launchType == nil && providers == nil {
                await host.note(
                    record,
                    "note: RunTask had neither launchType nor capacityProviderStrategy; ECS then uses the cluster's default capacity provider strategy, and without one the EC2 launch type (InvalidParameterException: No Container Instances were found in your cluster.); fargate-local ran it on Fargate"
                )
            }
            if missingNetworkConfiguration {
                await host.note(
                    record,
                    "warning: RunTask had no networkConfiguration; ECS refuses an awsvpc task without one (InvalidParameterException: Network Configuration must be provided when networkMode 'awsvpc' is specified.)"
                )
            }
            await host.start(record)
        }
        return .object([("tasks", .array(records.map { taskJSON($0) })), ("failures", .array([]))])
    }

    /// RunTask's `networkConfiguration` as ECS checks it. True when it is missing for an
    /// awsvpc task: ECS refuses that; fargate-local runs the task and says so in its log.
    static func checkNetworkConfiguration(_ value: JSONValue?, networkMode: String?) throws(APIError) -> Bool {
        guard let value, value != .null else { return networkMode == "awsvpc" }
        guard networkMode == "awsvpc" else {
            throw APIError.invalidParameter("Network Configuration is not valid for the given networkMode of this task definition.")
        }
        let awsvpc = value["awsvpcConfiguration"]
        guard case let .array(subnets)? = awsvpc?["subnets"], !subnets.isEmpty, subnets.allSatisfy({ !($0.stringValue ?? "").isEmpty }) else {
            throw APIError.invalidParameter("subnets can not be empty.")
        }
        if let assign = awsvpc?["assignPublicIp"], assign != .null, !["ENABLED", "DISABLED"].contains(assign.stringValue ?? "") {
            throw APIError.invalidParameter("assignPublicIp must be ENABLED or DISABLED.")
        }
        return false
    }

    func describeTasks(_ r: APIRequest) async throws -> JSONValue {
        let cluster = try await existingCluster(try r.string("cluster"))
        guard let refs = try r.strings("tasks"), !refs.isEmpty else { throw APIError.invalidParameter("Tasks cannot be empty.") }
        guard refs.count <= 100 else { throw APIError.invalidParameter("Tasks cannot have more than 100 elements.") }
        let includeTags = (try r.strings("include") ?? []).contains("TAGS")
        var tasks: [JSONValue] = []
        var failures: [JSONValue] = []
        for ref in refs {
            let id = ref.hasPrefix("arn:") ? String(ref.split(separator: "/").last ?? "") : ref
            if let record = try await store.task(id: id), record.task.clusterArn == arns.cluster(cluster) {
                tasks.append(taskJSON(record, includeTags: includeTags))
            } else {
                failures.append(
                    .object([("arn", .string(ref.hasPrefix("arn:") ? ref : arns.task(cluster: cluster, id: ref))), ("reason", .string("MISSING"))]))
            }
        }
        return .object([("tasks", .array(tasks)), ("failures", .array(failures))])
    }

    func listTasks(_ r: APIRequest) async throws -> JSONValue {
        let cluster = try await existingCluster(try r.string("cluster"))
        let desired = try r.string("desiredStatus") ?? "RUNNING"
        guard ["RUNNING", "PENDING", "STOPPED"].contains(desired) else {
            throw APIError.invalidParameter("desiredStatus must be RUNNING, PENDING or STOPPED.")
        }
        if let lt = try r.string("launchType"), lt != "FARGATE" {
            return .object([("taskArns", .array([]))])
        }
        var family = try r.string("family")
        if let f = family, f.contains(":") { family = String(f.split(separator: ":")[0]) }
        let records = try await store.tasks(desiredStatus: desired == "PENDING" ? "RUNNING" : desired, family: family, startedBy: try r.string("startedBy"))
            .filter { $0.task.clusterArn == arns.cluster(cluster) }
            .filter { desired != "PENDING" || $0.task.lastStatus < .running }
        let (page, next) = try Paging.page(records.map(\.task.taskArn), r, maxLimit: 100)
        return Paging.response("taskArns", page, next)
    }

    func stopTask(_ r: APIRequest) async throws -> JSONValue {
        let cluster = try await existingCluster(try r.string("cluster"))
        let ref = try r.requiredString("task")
        let reason = try r.string("reason") ?? "Task stopped by user"
        guard reason.count <= 255 else { throw APIError.invalidParameter("reason can be at most 255 characters.") }
        let id = ref.hasPrefix("arn:") ? String(ref.split(separator: "/").last ?? "") : ref
        guard let record = try await store.task(id: id), record.task.clusterArn == arns.cluster(cluster) else {
            throw APIError.invalidParameter("The referenced task was not found.")
        }
        _ = try await host.stop(record.id, reason: reason)
        // Report the task as StopTask does: desiredStatus STOPPED at once.
        var latest = try await store.task(id: id) ?? record
        latest.task.desiredStatus = "STOPPED"
        return .object([("task", taskJSON(latest))])
    }

    // MARK: ExecuteCommand

    /// ExecuteCommand checks the request as ECS does (interactive only, the task running
    /// with enableExecuteCommand, the container), then says what to use instead: ECS answers
    /// with a Session Manager session for the session-manager-plugin, which has no local
    /// counterpart; `fargate-local exec` runs the command in the container.
    func executeCommand(_ r: APIRequest) async throws -> JSONValue {
        let cluster = try await existingCluster(try r.string("cluster"))
        let ref = try r.requiredString("task")
        _ = try r.requiredString("command")
        guard try r.bool("interactive") == true else {
            throw APIError.invalidParameter("Interactive is the only mode supported currently.")
        }
        let id = ref.hasPrefix("arn:") ? String(ref.split(separator: "/").last ?? "") : ref
        guard let record = try await store.task(id: id), record.task.clusterArn == arns.cluster(cluster) else {
            throw APIError.invalidParameter("The referenced task was not found.")
        }
        guard record.task.enableExecuteCommand == true, record.task.lastStatus == .running else {
            throw APIError.invalidParameter(
                "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try again or run a new task with execute command enabled and try again."
            )
        }
        let names = record.task.containers.map(\.name)
        let container = try r.string("container")
        if let container, !names.contains(container) {
            throw APIError.invalidParameter("The container \(container) does not exist in task \(record.id); its containers: \(names.joined(separator: ", ")).")
        }
        guard container != nil || names.count == 1 else {
            throw APIError.invalidParameter("The task has more than one container (\(names.joined(separator: ", "))): specify container.")
        }
        let name = container ?? names[0]
        throw APIError.client(
            "fargate-local has no Session Manager for the session-manager-plugin to join; run the command with `fargate-local exec \(record.id.prefix(12)) -c \(name) -it -- COMMAND` (same container, its filesystem and environment)."
        )
    }

    // MARK: Task scale-in protection

    /// GetTaskProtection and UpdateTaskProtection. Scale-in protection is for the tasks of
    /// an ECS service; every task here is a standalone task (RunTask), so each one found gets
    /// ECS's TASK_NOT_VALID failure, as on AWS, and one not found MISSING.
    func taskProtection(_ r: APIRequest, updating: Bool) async throws -> JSONValue {
        let cluster = try await existingCluster(try r.requiredString("cluster"))
        let refs = try r.strings("tasks") ?? []
        if updating {
            guard !refs.isEmpty else { throw APIError.invalidParameter("Tasks cannot be empty.") }
            guard refs.count <= 10 else { throw APIError.invalidParameter("Tasks cannot have more than 10 elements.") }
            guard try r.bool("protectionEnabled") != nil else { throw APIError.invalidParameter("protectionEnabled must be specified.") }
            if let minutes = try r.int("expiresInMinutes"), !(1...2880).contains(minutes) {
                throw APIError.invalidParameter("expiresInMinutes must be between 1 and 2880.")
            }
        } else {
            guard refs.count <= 100 else { throw APIError.invalidParameter("Tasks cannot have more than 100 elements.") }
        }
        var failures: [JSONValue] = []
        for ref in refs {
            let id = ref.hasPrefix("arn:") ? String(ref.split(separator: "/").last ?? "") : ref
            if let record = try await store.task(id: id), record.task.clusterArn == arns.cluster(cluster) {
                failures.append(
                    .object([
                        ("arn", .string(record.task.taskArn)), ("reason", .string("TASK_NOT_VALID")),
                        ("detail", .string("The task is not part of an ECS service: scale-in protection is for a service's tasks.")),
                    ]))
            } else {
                failures.append(
                    .object([("arn", .string(ref.hasPrefix("arn:") ? ref : arns.task(cluster: cluster, id: ref))), ("reason", .string("MISSING"))]))
            }
        }
        return .object([("protectedTasks", .array([])), ("failures", .array(failures))])
    }

    // MARK: Tags

    enum Resource {
        case task(TaskRecord)
        case taskDefinition(StateStore.RegisteredTaskDefinition)
    }

    func resource(_ arn: String) async throws -> Resource {
        if arn.contains(":task/"), let record = try await store.task(id: String(arn.split(separator: "/").last ?? "")) {
            return .task(record)
        }
        if arn.contains(":task-definition/"), let td = try await store.registeredTaskDefinition(arn) {
            return .taskDefinition(td)
        }
        throw APIError.invalidParameter("The specified resource could not be found: \(arn)")
    }

    func tagResource(_ r: APIRequest) async throws -> JSONValue {
        let arn = try r.requiredString("resourceArn")
        let tags = try r.tags() ?? []
        switch try await resource(arn) {
        case let .task(record):
            _ = try await store.update(record.id) { rec in rec.task.tags = Self.merge(rec.task.tags ?? [], tags) }
        case let .taskDefinition(td):
            _ = try await store.setTaskDefinitionTags(td.definition.taskDefinitionArn ?? arn, Self.merge(td.tags, tags))
        }
        return .object([])
    }

    func untagResource(_ r: APIRequest) async throws -> JSONValue {
        let arn = try r.requiredString("resourceArn")
        let keys = Set(try r.strings("tagKeys") ?? [])
        switch try await resource(arn) {
        case let .task(record):
            _ = try await store.update(record.id) { rec in rec.task.tags = (rec.task.tags ?? []).filter { !keys.contains($0.key ?? "") } }
        case let .taskDefinition(td):
            _ = try await store.setTaskDefinitionTags(td.definition.taskDefinitionArn ?? arn, td.tags.filter { !keys.contains($0.key ?? "") })
        }
        return .object([])
    }

    func listTagsForResource(_ r: APIRequest) async throws -> JSONValue {
        let arn = try r.requiredString("resourceArn")
        switch try await resource(arn) {
        case let .task(record): return .object([("tags", WireJSON.value(record.task.tags ?? []))])
        case let .taskDefinition(td): return .object([("tags", WireJSON.value(td.tags))])
        }
    }

    static func merge(_ old: [Tag], _ new: [Tag]) -> [Tag] {
        var out = old.filter { t in !new.contains { $0.key == t.key } }
        out.append(contentsOf: new)
        return out
    }
}

/// maxResults / nextToken paging over an ordered list (the token is the next offset).
enum Paging {
    static func page<T>(_ all: [T], _ r: APIRequest, maxLimit: Int = 100) throws(APIError) -> ([T], String?) {
        let limit = try r.int("maxResults") ?? maxLimit
        guard (1...maxLimit).contains(limit) else { throw APIError.invalidParameter("maxResults must be between 1 and \(maxLimit).") }
        var start = 0
        if let token = try r.string("nextToken") {
            guard let decoded = Data(base64Encoded: token).flatMap({ String(data: $0, encoding: .utf8) }).flatMap(Int.init), decoded >= 0 else {
                throw APIError.invalidParameter("The nextToken is not valid.")
            }
            start = decoded
        }
        let end = min(all.count, start + limit)
        let page = start < all.count ? Array(all[start..<end]) : []
        let next = end < all.count ? Data(String(end).utf8).base64EncodedString() : nil
        return (page, next)
    }

    static func response(_ key: String, _ page: [String], _ next: String?) -> JSONValue {
        var out: [(key: String, value: JSONValue)] = [(key, WireJSON.strings(page))]
        if let next { out.append(("nextToken", .string(next))) }
        return .object(out)
    }
}
