import CurlHTTP
import ECSModel
import Foundation
import ShimCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs each container as a real Docker container through the Engine API, as Fargate
/// does: one network namespace per task (held by a small pause container that the
/// task's containers join), ECS's labels, memory and CPU limits (an OOM kill is
/// exitCode 137 with ECS's OutOfMemoryError reason), ulimits capped at the host's hard
/// limit, volumes as bind mounts, init, capabilities, read-only root, tmpfs.
public final class DockerRuntime: ContainerRuntime, Sendable {
    public let name = "docker"
    let engine: DockerEngine
    /// The pause container of each task of two or more containers.
    let pauses = PerTask<String>()
    /// Each task's cgroup.
    let cgroups = PerTask<TaskCgroup?>()
    /// The containers and scratch volumes this runtime created for each task it started,
    /// so cleaning up needs no listing (a re-adopted task's are listed).
    private let created = Mutex<[String: CreatedResources]>([:])
    struct CreatedResources {
        var containers: [String] = []
        var volumes: Set<String> = []
    }
    /// Docker's own health checks, followed on `/events`.
    let healthEvents: DockerHealthEvents
    /// How this host's cgroups can hold task-level limits; nil when they cannot.
    let cgroupLayout: TaskCgroup.Layout?
    /// Why the host's cgroups cannot hold task-level limits, if they cannot.
    private let cgroupUnavailable: String?
    /// The engine's refusal of a task cgroup as `CgroupParent` (its systemd cgroup driver
    /// wants slices), once seen: later tasks do without.
    private let cgroupParentRefusal = Mutex<String?>(nil)

    /// Why task cpu/memory are not a ceiling over the task's containers here, if they are not.
    public var taskLimitsWarning: String? {
        (cgroupUnavailable ?? cgroupParentRefusal.withLock { $0 }).map {
            "task cpu and memory are applied to each container, not as one ceiling over the task: \($0)"
        }
    }
    /// Where the controller's endpoints listen for containers (the bridge gateway and port):
    /// each task's traffic to 169.254.170.2:80 is DNATed there, as the ECS agent does.
    /// Containers' environments name 169.254.170.2, not the port, so a task can be created
    /// while the listener comes up: a container's start waits for it (`expectAgentEndpoint`).
    private let agent = Mutex(AgentEndpointState.notExpected)

    private enum AgentEndpointState {
        /// No listener is coming: containers start with whatever endpoint is set (none).
        case notExpected
        case pending(waiters: [CheckedContinuation<Void, Never>])
        case ready((host: String, port: Int)?)
        case failed(String)
    }

    /// Says a listener is starting: containers' starts wait until it is set or has failed.
    public func expectAgentEndpoint() {
        agent.withLock { state in
            if case .notExpected = state { state = .pending(waiters: []) }
        }
    }

    /// Points tasks' 169.254.170.2 at the controller listening on `host:port`.
    public func setAgentEndpoint(host: String, port: Int) { resolveAgentEndpoint(.ready((host, port))) }

    /// No listener for containers (no bridge gateway, or it could not bind): tasks run
    /// without the 169.254.170.2 route.
    public func agentEndpointUnavailable() { resolveAgentEndpoint(.ready(nil)) }

    /// The controller's API did not start: containers waiting for it fail to start with `reason`.
    public func agentEndpointFailed(_ reason: String) { resolveAgentEndpoint(.failed(reason)) }

    private func resolveAgentEndpoint(_ resolved: AgentEndpointState) {
        let waiters = agent.withLock { state -> [CheckedContinuation<Void, Never>] in
            let waiting: [CheckedContinuation<Void, Never>]
            if case let .pending(w) = state { waiting = w } else { waiting = [] }
            state = resolved
            return waiting
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The endpoint a container's route points at, once known; throws if the API failed.
    private func agentEndpoint() async throws(ContainerStartError) -> (host: String, port: Int)? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = agent.withLock { state -> Bool in
                guard case let .pending(waiters) = state else { return true }
                state = .pending(waiters: waiters + [continuation])
                return false
            }
            if ready { continuation.resume() }
        }
        switch agent.withLock({ $0 }) {
        case let .ready(endpoint): return endpoint
        case let .failed(reason): throw ContainerStartError(kind: "ResourceInitializationError", detail: reason)
        case .notExpected, .pending: return nil
        }
    }

    /// The endpoint as now known, without waiting.
    private var knownAgentEndpoint: (host: String, port: Int)? {
        if case let .ready(endpoint) = agent.withLock({ $0 }) { return endpoint }
        return nil
    }

    /// The Docker bridge's gateway address: how containers reach this host. Asked of the
    /// engine when the runtime is made (off the path of a task's start).
    public func bridgeGateway() async -> String? { gateway }

    private let gateway: String?

    private static func fetchBridgeGateway(_ engine: DockerEngine) -> String? {
        try? { () throws -> String? in
            let r = try engine.request("GET", "/networks/bridge")
            guard case let .array(configs)? = (try? JSONParser.parse(r.body))?["IPAM"]?["Config"], let config = configs.first else { return nil }
            if let gateway = config["Gateway"]?.stringValue, !gateway.isEmpty { return gateway }
            // Docker 20.10's default bridge names only its subnet; the gateway is its first address.
            guard let subnet = config["Subnet"]?.stringValue else { return nil }
            var octets = subnet.split(separator: "/")[0].split(separator: ".").compactMap { Int($0) }
            guard octets.count == 4 else { return nil }
            octets[3] += 1
            return octets.map(String.init).joined(separator: ".")
        }()
    }
    /// Keep containers after the task stops (`--keep-containers`), for debugging.
    public let keepContainers: Bool

    /// What is not the default about the engine: its socket and where it came from
    /// (`docker context colima: /home/me/.colima/default/docker.sock`), and the API version
    /// spoken when the engine refused 1.41 (`API 1.44`). Nil when neither.
    public var engineNote: String? {
        var parts: [String] = []
        if engine.source != DockerEngine(socketPath: "").source { parts.append("\(engine.source): \(engine.address)") }
        if engine.version.current != NegotiatedAPIVersion().current { parts.append("API \(engine.version.current)") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// Connects to the engine (`DOCKER_HOST`, the current docker context, else the default
    /// socket). `engineWaitSeconds`: how long an engine that accepts the connection may take
    /// to answer its ping; `--runtime auto` keeps it short, to fall back to the process
    /// runtime quickly, and a forced Docker runtime waits for a busy engine.
    public init(keepContainers: Bool = false, engineWaitSeconds: Int = 3) throws(ControllerError) {
        engine = try DockerEngine.fromEnvironment()
        healthEvents = DockerHealthEvents(engine: engine)
        self.keepContainers = keepContainers
        let (layout, why) = TaskCgroup.detect()
        cgroupLayout = layout
        cgroupUnavailable = why
        if let failure = engine.pingFailure(timeoutSeconds: engineWaitSeconds) {
            throw ControllerError(
                .invalidInput,
                "no Docker engine answers on \(engine.address) (\(engine.source)): \(failure); start dockerd (scripts/setup-machine does) or use --runtime process"
            )
        }
        gateway = Self.fetchBridgeGateway(engine)
        if let layout { Thread { TaskCgroup.sweepEmpty(layout: layout) }.start() }
        LatencyTrace.mark("docker: engine answered")
    }

    /// True when a Docker engine answers on the configured socket.
    public static func isAvailable() -> Bool {
        (try? DockerEngine.fromEnvironment())?.ping() ?? false
    }

    public func start(_ launch: ContainerLaunch, output: any ContainerOutputSink) async throws(ContainerStartError) -> any RunningContainer {
        guard let image = launch.image, !image.isEmpty else {
            throw ContainerStartError(kind: "CannotStartContainerError", detail: "container \(launch.containerName) has no image")
        }
        let engine = self.engine
        let mac = LinkLocalRoute.macAddress(forTask: launch.taskID)
        var withCgroup = launch
        let cgroupLayout = cgroupParentRefusal.withLock({ $0 }) == nil && (launch.taskCPU != nil || launch.taskMemoryMiB != nil) ? self.cgroupLayout : nil
        if cgroupLayout != nil { withCgroup.cgroupParent = TaskCgroup.parent(forTask: launch.taskID) }
        let launch = withCgroup
        // The engine needs the task's cgroup only when a container starts: it is made while
        // the container is created. Nil, or why it could not be made.
        let cgroupMade = Task { await makeTaskCgroup(launch, layout: cgroupLayout) }
        func cgroupReady() async throws(ContainerStartError) {
            if let failure = await cgroupMade.value {
                throw ContainerStartError(kind: "ResourceInitializationError", detail: "failed to apply the task's cpu and memory: \(failure)")
            }
            LatencyTrace.mark("docker: task cgroup ready")
        }
        do {
            let id: String
            if launch.taskContainerCount <= 1 {
                // A task of one container: the container holds the task's network namespace itself.
                async let created = Blocking.run { try Self.create(engine, launch, image: image, network: .own(mac: mac)) }
                let agent = try await agentEndpoint()
                await LinkLocalRoute.add(mac: mac, to: agent)
                LatencyTrace.mark("docker: link-local route added")
                id = noteRefusal(try await created)
                LatencyTrace.mark("docker: container created")
            } else {
                try await cgroupReady()
                if !launch.imagePrepared {
                    try await Blocking.run {
                        try Self.ensureImage(engine, image, platform: launch.imagePlatform, auth: launch.registryAuth, report: launch.reportPull)
                    }
                }
                let agent = try await agentEndpoint()
                let pause = try await pauses.value(for: launch.taskID) {
                    let id = self.noteRefusal(try await Blocking.run { try Self.createPause(engine, launch, fallbackImage: image, mac: mac) })
                    async let routed: Void = LinkLocalRoute.add(mac: mac, to: agent)
                    async let started: Void = Blocking.run { try Self.startPause(engine, id) }
                    await routed
                    try await started
                    return id
                }
                id = noteRefusal(try await Blocking.run { try Self.create(engine, launch, image: image, network: .joined(pause: pause)) })
            }
            created.withLock { all in
                all[launch.taskID, default: CreatedResources()].containers.append(id)
                all[launch.taskID, default: CreatedResources()].volumes.formUnion(launch.mounts.compactMap(\.scratchVolume))
            }
            try await cgroupReady()
            let health = Self.healthCheck(of: launch) == nil ? nil : healthEvents
            let container = DockerContainer(engine: engine, id: id, health: health, tty: launch.definition?.pseudoTerminal == true)
            try await Blocking.run {
                let r = try engine.request("POST", "/containers/\(id)/start")
                guard r.status == 204 || r.status == 304 else {
                    throw ContainerStartError(kind: "CannotStartContainerError", detail: "container \(launch.containerName): \(DockerEngine.message(r))")
                }
            }
            LatencyTrace.mark("docker: container started")
            await container.begin(output: output)
            return container
        } catch let e as ContainerStartError {
            // The cgroup is known to the task (its clean-up removes it) only once made.
            _ = await cgroupMade.value
            throw e
        } catch {
            _ = await cgroupMade.value
            throw ContainerStartError(kind: "CannotStartContainerError", detail: "container \(launch.containerName): Docker engine error: \(error)")
        }
    }

    /// Starts the same (exited) container again, as Docker's restart does: its filesystem is
    /// kept; its logs are followed from the new start on.
    public func restart(_ container: any RunningContainer, launch: ContainerLaunch, output: any ContainerOutputSink) async throws(ContainerStartError)
        -> any RunningContainer
    {
        guard let old = container as? DockerContainer else { return try await start(launch, output: output) }
        let engine = self.engine
        let id = old.id
        let since = LogResumePoint(milliseconds: Int64(Date().timeIntervalSince1970 * 1000), linesAtThatMillisecond: 0)
        let health = Self.healthCheck(of: launch) == nil ? nil : healthEvents
        do {
            try await Blocking.run {
                let r = try engine.request("POST", "/containers/\(id)/start")
                guard r.status == 204 || r.status == 304 else {
                    throw ContainerStartError(kind: "CannotStartContainerError", detail: "container \(launch.containerName): \(DockerEngine.message(r))")
                }
            }
        } catch let e as ContainerStartError {
            throw e
        } catch {
            throw ContainerStartError(kind: "CannotStartContainerError", detail: "container \(launch.containerName): Docker engine error: \(error)")
        }
        let restarted = DockerContainer(engine: engine, id: id, health: health, tty: launch.definition?.pseudoTerminal == true)
        await restarted.begin(output: output, resumeAt: since)
        return restarted
    }

    /// Makes the task's cgroup once (with `layout`; none without); nil, or why it failed.
    private func makeTaskCgroup(_ launch: ContainerLaunch, layout: TaskCgroup.Layout?) async -> String? {
        guard let layout else { return nil }
        let (taskID, cpu, memory) = (launch.taskID, launch.taskCPU, launch.taskMemoryMiB)
        do {
            _ = try await cgroups.value(for: taskID) { try TaskCgroup.make(taskID: taskID, cpu: cpu, memoryMiB: memory, layout: layout) }
            return nil
        } catch {
            return "\(error)"
        }
    }

    public func adopt(taskID: String, since: [String: LogResumePoint], output: @Sendable (String) -> any ContainerOutputSink) async -> [String:
        AdoptedContainer]?
    {
        let engine = self.engine
        guard
            let listed = try? await Blocking.run({ () -> [JSONValue] in
                let filter = "{\"label\":[\"dev.fargate-local.task-id=\(taskID)\"]}"
                let encoded = filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                let list = try engine.request("GET", "/containers/json?all=1&filters=\(encoded)")
                guard case let .array(items) = try JSONParser.parse(list.body) else { return [] }
                return items
            })
        else { return nil }
        // The task's 169.254.170.2 still points at the dead controller: point it here.
        if !listed.isEmpty, let agent = knownAgentEndpoint {
            await LinkLocalRoute.replace(mac: LinkLocalRoute.macAddress(forTask: taskID), to: agent)
        }
        var adopted: [String: AdoptedContainer] = [:]
        for item in listed {
            guard let id = item["Id"]?.stringValue, let labels = item["Labels"] else { continue }
            if labels["dev.fargate-local.pause"] == .string("true") {
                _ = try? await pauses.value(for: taskID) { id }
                continue
            }
            guard let name = labels["com.amazonaws.ecs.container-name"]?.stringValue else { continue }
            if item["State"]?.stringValue == "running" {
                let inspect = try? await Blocking.run { try JSONParser.parse(engine.request("GET", "/containers/\(id)/json").body) }
                let checked = inspect?["Config"]?["Healthcheck"]?["Test"].map { $0 != .null } ?? false
                let container = DockerContainer(
                    engine: engine, id: id, health: checked ? healthEvents : nil,
                    tty: inspect?["Config"]?["Tty"] == .bool(true))
                switch inspect?["State"]?["Health"]?["Status"]?.stringValue {
                case "healthy": healthEvents.deliver(.healthy, to: id)
                case "unhealthy": healthEvents.deliver(.unhealthy, to: id)
                default: break
                }
                await container.begin(output: output(name), resumeAt: since[name])
                adopted[name] = .running(container)
            } else if let exit = try? await Blocking.run({ () -> ContainerExit in
                let inspect = try engine.request("GET", "/containers/\(id)/json")
                let state = try JSONParser.parse(inspect.body)["State"]
                let code =
                    state?["ExitCode"].flatMap { v -> Int? in
                        if case let .number(n) = v { return Int(n) }
                        return nil
                    } ?? 255
                let oom = state?["OOMKilled"] == .bool(true)
                return ContainerExit(exitCode: code, reason: oom ? "OutOfMemoryError: Container killed due to memory usage" : nil)
            }) {
                adopted[name] = .exited(exit)
            }
        }
        return adopted
    }

    public func missingImages(_ images: [(image: String, platform: String?)]) async -> Set<String> {
        var distinct: [(image: String, platform: String?)] = []
        for entry in images where !distinct.contains(where: { $0.image == entry.image }) { distinct.append(entry) }
        let engine = self.engine
        return await withTaskGroup(of: String?.self) { group in
            for entry in distinct {
                group.addTask {
                    let present = try? await Blocking.run { try Self.localPlatform(engine, entry.image) }
                    guard let platform = present ?? nil, entry.platform == nil || platform == entry.platform else { return entry.image }
                    return nil
                }
            }
            var missing: Set<String> = []
            for await image in group { if let image { missing.insert(image) } }
            return missing
        }
    }

    /// The platform (`linux/amd64`) of the engine's `image`, or nil when the engine lacks it.
    static func localPlatform(_ engine: DockerEngine, _ image: String) throws -> String? {
        let r = try engine.request("GET", "/images/\(image)/json")
        guard r.status == 200 else { return nil }
        let info = try? JSONParser.parse(r.body)
        return "\(info?["Os"]?.stringValue ?? "linux")/\(info?["Architecture"]?.stringValue ?? "")"
    }

    public func imageDigest(for launch: ContainerLaunch) async -> String? {
        guard let image = launch.image, !image.isEmpty else { return nil }
        let engine = self.engine
        return try? await Blocking.run { () -> String? in
            let r = try engine.request("GET", "/images/\(image)/json")
            guard r.status == 200, let info = try? JSONParser.parse(r.body) else { return nil }
            return Self.imageDigest(
                image: image, id: info["Id"]?.stringValue,
                repoDigests: info["RepoDigests"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
    }

    /// ECS's `imageDigest` for `image`: the manifest digest of its repository among the
    /// engine's `RepoDigests` (`debian@sha256:…`), else any, else the image ID (a local build).
    static func imageDigest(image: String, id: String?, repoDigests: [String]) -> String? {
        let repository = splitImage(image).0
        let pairs = repoDigests.compactMap { entry -> (String, String)? in
            guard let at = entry.lastIndex(of: "@") else { return nil }
            return (String(entry[..<at]), String(entry[entry.index(after: at)...]))
        }
        return pairs.first { $0.0 == repository }?.1 ?? pairs.first?.1 ?? id
    }

    /// Each distinct image of the launches made ready at once (pulled when the engine lacks
    /// it for the task's platform); the first failure, in the launches' order, is thrown.
    public func prepareImages(for launches: [ContainerLaunch]) async throws(ContainerStartError) {
        var images: [(image: String, launch: ContainerLaunch)] = []
        for launch in launches {
            guard let image = launch.image, !image.isEmpty, !images.contains(where: { $0.image == image }) else { continue }
            images.append((image, launch))
        }
        let engine = self.engine
        let failures = await withTaskGroup(of: (Int, ContainerStartError?).self) { group in
            for (i, entry) in images.enumerated() {
                group.addTask {
                    do {
                        try await Blocking.run {
                            try Self.ensureImage(
                                engine, entry.image, platform: entry.launch.imagePlatform, auth: entry.launch.registryAuth, report: entry.launch.reportPull)
                        }
                        return (i, nil)
                    } catch let e as ContainerStartError {
                        return (i, ContainerStartError(kind: e.kind, detail: e.detail, image: entry.image))
                    } catch {
                        return (i, ContainerStartError(kind: "CannotPullContainerError", detail: "\(entry.image): \(error)", image: entry.image))
                    }
                }
            }
            var out: [Int: ContainerStartError] = [:]
            for await (i, e) in group { if let e { out[i] = e } }
            return out
        }
        if let first = failures.keys.min(), let error = failures[first] { throw error }
    }

    public func cleanUp(taskID: String) async {
        let pause = await pauses.remove(taskID)
        // The task's 169.254.170.2 rule goes once its containers are gone (no other task can
        // match it): spawning iptables would compete with the engine's removal for the CPU.
        let agent = knownAgentEndpoint
        let mac = LinkLocalRoute.macAddress(forTask: taskID)
        defer { LinkLocalRoute.remove(mac: mac, to: agent) }
        // A process with no agent listener of its own (`stop` taking over a task whose
        // supervisor died) removes whatever rule the dead one left for the task.
        let leftRules = { if agent == nil { await LinkLocalRoute.removeAll(mac: mac) } }
        let known = created.withLock { $0.removeValue(forKey: taskID) }
        _ = await cgroups.remove(taskID)
        guard !keepContainers else {
            await leftRules()
            return
        }
        let engine = self.engine
        let cgroupLayout = self.cgroupLayout
        _ = try? await Blocking.run {
            // The containers (and the pause container) go first, concurrently: each removal
            // waits for the engine. Then the task's scratch volumes and its cgroup.
            var ids = known?.containers ?? Self.listIDs(engine, "/containers/json?all=1&", taskID: taskID, key: nil)
            if let pause, !ids.contains(pause) { ids.append(pause) }
            let removals = ids
            DispatchQueue.concurrentPerform(iterations: removals.count) { i in
                _ = try? engine.request("DELETE", "/containers/\(removals[i])?force=1&v=1")
            }
            let volumes =
                known.map { $0.volumes.map { Self.scratchVolumeName(taskID: taskID, volume: $0) } }
                ?? Self.listIDs(engine, "/volumes?", taskID: taskID, key: "Volumes")
            for name in volumes { _ = try? engine.request("DELETE", "/volumes/\(name)") }
            if let layout = cgroupLayout { TaskCgroup.remove(taskID: taskID, layout: layout) }
        }
        await leftRules()
    }

    /// The task ids on fargate-local's containers in the engine (its `dev.fargate-local.task-id`
    /// label), each with its containers' ids.
    public func labelledContainers() async -> [String: [String]] {
        let engine = self.engine
        return
            (try? await Blocking.run { () -> [String: [String]] in
                let filter = "{\"label\":[\"dev.fargate-local.task-id\"]}"
                let list = try engine.request(
                    "GET", "/containers/json?all=1&filters=\(filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
                guard case let .array(entries)? = try? JSONParser.parse(list.body) else { return [:] }
                var byTask: [String: [String]] = [:]
                for entry in entries {
                    guard let id = entry["Id"]?.stringValue, let task = entry["Labels"]?["dev.fargate-local.task-id"]?.stringValue else { continue }
                    byTask[task, default: []].append(id)
                }
                return byTask
            }) ?? [:]
    }

    /// Removes what is left of a stopped task in the engine (its containers and scratch
    /// volumes), as its clean-up would have: for when that clean-up could not run (the
    /// engine was down as the task stopped). Returns how many containers went.
    public func removeLeftovers(taskID: String, containers ids: [String]) async -> Int {
        let engine = self.engine
        return
            (try? await Blocking.run { () -> Int in
                var removed = 0
                for id in ids where (try? engine.request("DELETE", "/containers/\(id)?force=1&v=1"))?.status == 204 { removed += 1 }
                for name in Self.listIDs(engine, "/volumes?", taskID: taskID, key: "Volumes") { _ = try? engine.request("DELETE", "/volumes/\(name)") }
                return removed
            }) ?? 0
    }

    /// A container created; `cgroupRefusal` when the engine refused the task's cgroup as its
    /// parent and it was created without (each container then has the task's limits).
    struct Created: Sendable {
        var id: String
        var cgroupRefusal: String?
    }

    /// Remembers the engine's refusal of task cgroups; returns the container's id.
    func noteRefusal(_ created: Created) -> String {
        if let refusal = created.cgroupRefusal { cgroupParentRefusal.withLock { $0 = $0 ?? refusal } }
        return created.id
    }

    /// Posts a create; if the engine refuses `CgroupParent` (Docker's systemd cgroup driver
    /// takes only slices), posts it again without, built by `body(nil)`.
    /// `platform` (`linux/arm64`): the image platform the container must run (the engine
    /// refuses an image of another).
    static func postCreate(
        _ engine: DockerEngine, name: String, cgroupParent: String?, platform: String? = nil,
        body: (String?) -> JSONValue
    ) throws -> (HTTPResponse, String?) {
        let target = "/containers/create?name=\(name)" + (platform.map { "&platform=\($0)" } ?? "")
        let r = try engine.request("POST", target, body: body(cgroupParent))
        guard r.status != 201, cgroupParent != nil, DockerEngine.message(r).contains("cgroup-parent") else { return (r, nil) }
        return (try engine.request("POST", target, body: body(nil)), DockerEngine.message(r))
    }

    /// Ids (containers) or names (volumes, under `key`) of what carries the task's label;
    /// `query` is the listing's path and query up to where `filters=` goes.
    static func listIDs(_ engine: DockerEngine, _ query: String, taskID: String, key: String?) -> [String] {
        let filter = "{\"label\":[\"dev.fargate-local.task-id=\(taskID)\"]}"
        guard let list = try? engine.request("GET", "\(query)filters=\(filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"),
            let body = try? JSONParser.parse(list.body)
        else { return [] }
        let items: JSONValue? = key.map { body[$0] } ?? body
        guard case let .array(entries)? = items else { return [] }
        return entries.compactMap { $0[key == nil ? "Id" : "Name"]?.stringValue }
    }

    // MARK: Engine calls (blocking)

    /// Pulls `image` unless the engine has it for `platform` (`linux/arm64`; nil: any);
    /// `auth`: the registry credentials (X-Registry-Auth) from `repositoryCredentials`; without
    /// them, those the docker CLI would use (`DockerLogin`). As Fargate pulls the variant of the
    /// task's runtimePlatform, an image the engine has only for another platform is pulled
    /// for this one, and fails the task when the registry has no such variant.
    /// `report`: told before a pull and after it succeeds.
    static func ensureImage(
        _ engine: DockerEngine, _ image: String, platform: String? = nil, auth: String? = nil,
        report: (@Sendable (String) -> Void)? = nil
    ) throws {
        func localPlatform() throws -> String? { try Self.localPlatform(engine, image) }
        let before = try localPlatform()
        if let before, platform == nil || before == platform { return }
        let (name, tag) = splitImage(image)
        let login = auth == nil ? DockerLogin.lookup(for: image) : DockerLogin.Lookup()
        let pullStarted = ContinuousClock.now
        report?("pulling image \(image)" + (platform.map { " for \($0)" } ?? ""))
        let pull = try engine.request(
            "POST",
            "/images/create?fromImage=\(name.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? name)&tag=\(tag)"
                + (platform.map { "&platform=\($0)" } ?? ""),
            headers: (auth ?? login.registryAuth).map { [("X-Registry-Auth", $0)] } ?? [], timeout: 300)
        let after = try localPlatform()
        if let after, platform == nil || after == platform {
            let elapsed = ContinuousClock.now - pullStarted
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            report?("pulled image \(image) in \(String(format: "%.1f", seconds)) s")
            return
        }
        var message = DockerEngine.message(pull)
        // A pull streams JSON lines; the error is in the last one.
        for line in pull.bodyText.split(separator: "\n").reversed() {
            if let v = try? JSONParser.parse(String(line)), let e = v["error"]?.stringValue {
                message = e
                break
            }
        }
        if let platform, let have = after ?? before {
            throw ContainerStartError(
                kind: "CannotPullContainerError",
                detail:
                    "pull image manifest has been retried 1 time(s): image Manifest does not contain descriptor matching platform '\(platform)': \(image) is \(have) here, and the task's runtimePlatform asks for \(platform) (pulling that variant: \(message))"
            )
        }
        throw ContainerStartError(
            kind: "CannotPullContainerError",
            detail: "pull image manifest has been retried 1 time(s): \(image): \(message)" + (login.problem.map { " (\($0))" } ?? ""))
    }

    static func splitImage(_ image: String) -> (String, String) {
        let noDigest = image.split(separator: "@").first.map(String.init) ?? image
        if let colon = noDigest.lastIndex(of: ":"), !noDigest[colon...].contains("/") {
            return (String(noDigest[..<colon]), String(noDigest[noDigest.index(after: colon)...]))
        }
        return (noDigest, "latest")
    }

    static func createPause(_ engine: DockerEngine, _ launch: ContainerLaunch, fallbackImage: String, mac: String) throws -> Created {
        let preferred = ProcessInfo.processInfo.environment["FARGATE_LOCAL_PAUSE_IMAGE"] ?? "debian:bookworm-slim"
        let image = (try? engine.request("GET", "/images/\(preferred)/json").status) == 200 ? preferred : fallbackImage
        var labels = launch.labels
        labels["com.amazonaws.ecs.container-name"] = "~internal~ecs~pause"
        labels["dev.fargate-local.pause"] = "true"
        func body(_ cgroupParent: String?) -> JSONValue {
            .object(
                [
                    ("Image", .string(image)), ("Entrypoint", .array([.string("sleep")])), ("Cmd", .array([.string("infinity")])),
                    ("Labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                    ("ExposedPorts", .object(exposedPorts(launch))),
                    (
                        "HostConfig",
                        .object(
                            [("NetworkMode", .string("bridge")), ("Init", .bool(true)), ("PortBindings", .object(portBindings(launch)))]
                                + (cgroupParent.map { [("CgroupParent", .string($0))] } ?? [])
                                + (launch.taskNetworkSysctls.isEmpty
                                    ? [] : [("Sysctls", .object(launch.taskNetworkSysctls.map { ($0.key, .string($0.value)) }))]))
                    ),
                ] + macAddress(mac, engine))
        }
        let name = "fargate-local-\(launch.taskID.prefix(12))-pause"
        let (r, refusal) = try postCreate(engine, name: name, cgroupParent: launch.cgroupParent, body: body)
        guard r.status == 201, let id = (try? JSONParser.parse(r.body))?["Id"]?.stringValue else {
            throw ContainerStartError(
                kind: "ResourceInitializationError", detail: "failed to create the task's network namespace (pause container): \(DockerEngine.message(r))")
        }
        return Created(id: id, cgroupRefusal: refusal)
    }

    static func startPause(_ engine: DockerEngine, _ id: String) throws {
        let started = try engine.request("POST", "/containers/\(id)/start")
        guard started.status == 204 || started.status == 304 else {
            throw ContainerStartError(
                kind: "ResourceInitializationError", detail: "failed to start the task's pause container: \(DockerEngine.message(started))")
        }
    }

    /// The task's ports to publish (127.0.0.1 only), on the container that holds its network namespace.
    static func exposedPorts(_ launch: ContainerLaunch) -> [(key: String, value: JSONValue)] {
        launch.publishedPorts.map { ("\($0.containerPort)/\($0.protocol)", .object([])) }
    }

    static func portBindings(_ launch: ContainerLaunch) -> [(key: String, value: JSONValue)] {
        launch.publishedPorts.map {
            ("\($0.containerPort)/\($0.protocol)", .array([.object([("HostIp", .string("127.0.0.1")), ("HostPort", .string(String($0.hostPort)))])]))
        }
    }

    /// Where a container's network namespace comes from.
    enum Network {
        /// Its own on the bridge (the task's only container), with the task's MAC address.
        case own(mac: String)
        /// The task's pause container's.
        case joined(pause: String)
    }

    /// The container's health check, unless it has none or `NONE`.
    static func healthCheck(of launch: ContainerLaunch) -> HealthCheck? {
        guard let check = launch.definition?.healthCheck, let kind = check.command.first, kind == "CMD" || kind == "CMD-SHELL" else { return nil }
        return check
    }

    /// The Docker name of a task's container, known before the engine gives it an id.
    public static func containerName(taskID: String, container: String) -> String {
        "fargate-local-\(taskID.prefix(12))-\(container)"
    }

    /// The Docker volume holding a task's scratch volume.
    static func scratchVolumeName(taskID: String, volume: String) -> String {
        "fargate-local-\(taskID.prefix(12))-" + String(volume.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    /// Fargate's nofile limit for a container that sets none (soft and hard).
    static let fargateNofile = 65535

    static func hostHardNofile() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return limit.rlim_max == rlim_t.max ? Int.max : Int(limit.rlim_max)  // RLIM_INFINITY
    }

    static func create(_ engine: DockerEngine, _ launch: ContainerLaunch, image: String, network: Network) throws -> Created {
        // Scratch volumes are Docker volumes of the task's: like Fargate's, they start with
        // what the image holds at the mount path.
        for volume in Set(launch.mounts.compactMap(\.scratchVolume)) {
            let r = try engine.request(
                "POST", "/volumes/create",
                body: .object([
                    ("Name", .string(scratchVolumeName(taskID: launch.taskID, volume: volume))),
                    ("Labels", .object([("dev.fargate-local.task-id", .string(launch.taskID)), ("dev.fargate-local.volume", .string(volume))])),
                ]))
            guard r.status == 201 || r.status == 200 else {
                throw ContainerStartError(kind: "ResourceInitializationError", detail: "failed to create volume \(volume): \(DockerEngine.message(r))")
            }
        }
        let name = containerName(taskID: launch.taskID, container: launch.containerName)
        func body(_ cgroupParent: String?) -> JSONValue {
            var withParent = launch
            withParent.cgroupParent = cgroupParent
            return containerBody(withParent, image: image, network: network, engine: engine)
        }
        // As `docker run` does: create, and pull only when the engine lacks the image.
        var (r, refusal) = try postCreate(engine, name: name, cgroupParent: launch.cgroupParent, platform: launch.imagePlatform, body: body)
        if r.status == 404 {
            try ensureImage(engine, image, platform: launch.imagePlatform, auth: launch.registryAuth, report: launch.reportPull)
            (r, refusal) = try postCreate(
                engine, name: name, cgroupParent: refusal == nil ? launch.cgroupParent : nil, platform: launch.imagePlatform, body: body)
        }
        guard r.status == 201, let id = (try? JSONParser.parse(r.body))?["Id"]?.stringValue else {
            throw ContainerStartError(kind: "CannotStartContainerError", detail: "container \(launch.containerName): \(DockerEngine.message(r))")
        }
        return Created(id: id, cgroupRefusal: refusal)
    }

    /// The Engine API's container config for a launch.
    static func containerBody(_ launch: ContainerLaunch, image: String, network: Network, engine: DockerEngine) -> JSONValue {
        let def = launch.definition
        var host: [(key: String, value: JSONValue)] = [
            (
                "Binds",
                .array(
                    launch.mounts.map { mount in
                        let source = mount.scratchVolume.map { scratchVolumeName(taskID: launch.taskID, volume: $0) } ?? mount.hostPath
                        return JSONValue.string("\(source):\(mount.containerPath)\(mount.readOnly ? ":ro" : "")")
                    })
            )
        ]
        // The task's cpu and memory are the ceiling: the task's cgroup when there is one,
        // else each container's own limit. A container's memory is a hard limit inside it,
        // its cpu a relative weight (CPU shares), as on ECS.
        if let parent = launch.cgroupParent { host.append(("CgroupParent", .string(parent))) }
        if let memory = def?.memory ?? (launch.cgroupParent == nil ? launch.taskMemoryMiB : nil) {
            let bytes = memory * 1024 * 1024
            host.append(("Memory", .number(String(bytes))))
            host.append(("MemorySwap", .number(String(bytes))))
        }
        if let reservation = def?.memoryReservation { host.append(("MemoryReservation", .number(String(reservation * 1024 * 1024)))) }
        if let shares = (def?.cpu).flatMap({ $0 > 0 ? $0 : nil }) { host.append(("CpuShares", .number(String(max(2, shares))))) }
        if launch.cgroupParent == nil, let cpu = launch.taskCPU {
            host.append(("NanoCpus", .number(String(Int64(cpu) * 1_000_000_000 / 1024))))
        }
        if def?.linuxParameters?.initProcessEnabled == true { host.append(("Init", .bool(true))) }
        if let add = def?.linuxParameters?.capabilities?.add { host.append(("CapAdd", .array(add.map { JSONValue.string($0) }))) }
        if let drop = def?.linuxParameters?.capabilities?.drop { host.append(("CapDrop", .array(drop.map { JSONValue.string($0) }))) }
        if def?.readonlyRootFilesystem == true { host.append(("ReadonlyRootfs", .bool(true))) }
        if let tmpfs = def?.linuxParameters?.tmpfs {
            host.append(("Tmpfs", .object(tmpfs.map { ($0.containerPath, .string((["size=\($0.size)m"] + ($0.mountOptions ?? [])).joined(separator: ","))) })))
        }
        // Fargate sets nofile to 65535 (soft and hard) unless the container says otherwise;
        // an engine's own default differs from one machine to the next.
        var ulimits = def?.ulimits ?? []
        if !ulimits.contains(where: { $0.name == "nofile" }) {
            ulimits.append(Ulimit(name: "nofile", softLimit: fargateNofile, hardLimit: fargateNofile))
        }
        let cap = hostHardNofile()
        host.append(
            (
                "Ulimits",
                .array(
                    ulimits.map { u in
                        let hard = u.name == "nofile" ? min(u.hardLimit, cap) : u.hardLimit
                        let soft = min(u.softLimit, hard)
                        return .object([("Name", .string(u.name)), ("Soft", .number(String(soft))), ("Hard", .number(String(hard)))])
                    })
            ))
        // systemControls: the network namespace's (`net.*`, the task's) are set where it is
        // held; the others (IPC) on the container itself.
        var sysctls = (def?.systemControls ?? []).compactMap { c -> (key: String, value: String)? in
            guard let key = c.namespace, let value = c.value, !key.hasPrefix("net.") else { return nil }
            return (key, value)
        }
        switch network {
        case let .joined(pause):
            host.append(("NetworkMode", .string("container:\(pause)")))
            if launch.sharesTaskPIDNamespace { host.append(("PidMode", .string("container:\(pause)"))) }
        case .own:
            host.append(("NetworkMode", .string("bridge")))
            host.append(("PortBindings", .object(portBindings(launch))))
            sysctls += launch.taskNetworkSysctls
        }
        if !sysctls.isEmpty { host.append(("Sysctls", .object(sysctls.map { ($0.key, .string($0.value)) }))) }
        var body: [(key: String, value: JSONValue)] = [
            ("Image", .string(image)),
            ("Env", .array(launch.environment.map { JSONValue.string("\($0.0)=\($0.1)") })),
            ("Labels", .object(launch.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("HostConfig", .object(host)),
        ]
        if let entry = launch.entryPoint, !entry.isEmpty { body.append(("Entrypoint", .array(entry.map { JSONValue.string($0) }))) }
        if let command = launch.command { body.append(("Cmd", .array(command.map { JSONValue.string($0) }))) }
        if let wd = launch.workingDirectory { body.append(("WorkingDir", .string(wd))) }
        if let user = def?.user { body.append(("User", .string(user))) }
        // As `docker run -t` and `-i`: a terminal for its output; stdin kept open (nothing writes to it).
        if def?.pseudoTerminal == true { body.append(("Tty", .bool(true))) }
        if def?.interactive == true { body.append(("OpenStdin", .bool(true))) }
        if let check = healthCheck(of: launch) {
            // Docker's own health check with ECS's parameters, as the ECS agent sets it.
            let second = 1_000_000_000
            body.append(
                (
                    "Healthcheck",
                    .object([
                        ("Test", .array(check.command.map { JSONValue.string($0) })),
                        ("Interval", .number(String(check.effectiveInterval * second))),
                        ("Timeout", .number(String(check.effectiveTimeout * second))),
                        ("Retries", .number(String(check.effectiveRetries))),
                        ("StartPeriod", .number(String(check.effectiveStartPeriod * second))),
                    ])
                ))
        }
        if case let .own(mac) = network {
            body += macAddress(mac, engine)
            body.append(("ExposedPorts", .object(exposedPorts(launch))))
        }
        return .object(body)
    }

    /// A container's MAC address on the default bridge, where the engine's API version
    /// takes it: in its config up to 1.43, on its network endpoint from 1.44.
    static func macAddress(_ mac: String, _ engine: DockerEngine) -> [(key: String, value: JSONValue)] {
        guard engine.setsMACOnEndpoint else { return [("MacAddress", .string(mac))] }
        return [("NetworkingConfig", .object([("EndpointsConfig", .object([("bridge", .object([("MacAddress", .string(mac))]))]))]))]
    }
}

/// One value per task, made once even when a task's containers start at once: the pause
/// container holding a task's network namespace, the task's cgroup.
actor PerTask<Value: Sendable> {
    private var byTask: [String: Task<Value, any Error>] = [:]

    func value(for taskID: String, create: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let existing = byTask[taskID] { return try await existing.value }
        let creation = Task { try await create() }
        byTask[taskID] = creation
        do {
            return try await creation.value
        } catch {
            byTask[taskID] = nil
            throw error
        }
    }

    func remove(_ taskID: String) async -> Value? { try? await byTask.removeValue(forKey: taskID)?.value }
}

/// A running Docker container: its logs are followed and demultiplexed into lines,
/// its exit is awaited, and it stops with Docker's stop (SIGTERM, SIGKILL after t).
actor DockerContainer: RunningContainer {
    nonisolated let engine: DockerEngine
    nonisolated let id: String
    private var exitStatus: ContainerExit?
    private var logsDone = false
    private var waiters: [CheckedContinuation<ContainerExit, Never>] = []
    /// Set when the controller asked the container to stop.
    private let stopRequested = Mutex(false)
    /// Docker's own health check results, when the container has one.
    nonisolated let nativeHealth: AsyncStream<HealthStatus>?
    private let health: DockerHealthEvents?

    /// `pseudoTerminal`: the engine gives its output as one raw stream (no frames), lines
    /// ending in CR LF.
    nonisolated let tty: Bool

    init(engine: DockerEngine, id: String, health: DockerHealthEvents? = nil, tty: Bool = false) {
        self.engine = engine
        self.id = id
        self.tty = tty
        self.health = health
        nativeHealth = health?.subscribe(id)
    }

    nonisolated var runtimeID: String { String(id.prefix(12)) }

    /// Follows the container's output into `output`, from `resumeAt` on when given (a
    /// re-adopted or restarted container): each line with the time the engine read it.
    func begin(output: any ContainerOutputSink, resumeAt: LogResumePoint? = nil) {
        let (batches, continuation) = AsyncStream.makeStream(of: OutputBatch.self)
        let engine = self.engine
        let id = self.id
        let tty = self.tty
        // A terminal's output carries no times: the lines of the resume millisecond already
        // stored cannot be told apart, so it goes on after that millisecond.
        let since = resumeAt.map { tty && $0.linesAtThatMillisecond > 0 ? $0.milliseconds + 1 : $0.milliseconds }
        Thread {
            var reader = DockerLogLines(tty: tty, resumeAt: tty ? nil : resumeAt)
            func consume(_ source: OutputBatch.Source, _ frame: UnsafeRawBufferPointer) {
                for batch in reader.consume(source, frame) { continuation.yield(batch) }
            }
            // A request that fails before any output arrived is made again (a busy engine can
            // refuse a connection): the container's logs are kept until it is removed, which
            // waits for this stream.
            var received = false
            for attempt in 0..<3 {
                do {
                    try engine.followLogs(id, sinceMilliseconds: since, raw: tty, timestamps: !tty) { source, bytes in
                        received = true
                        consume(source, bytes)
                    }
                    break
                } catch {
                    LatencyTrace.mark("docker: log stream failed (\(id.prefix(12))): \(error)")
                    guard !received, attempt < 2 else { break }
                    usleep(useconds_t(100_000 * (attempt + 1)))
                }
            }
            // A follow that ended with nothing is checked with one plain read (0.2 ms): in
            // loaded test runs a quick container's only line went missing from the follow
            // (the cause is not pinned down; the engine keeps the logs until removal).
            if !received {
                try? engine.followLogs(id, sinceMilliseconds: since, raw: tty, follow: false, timestamps: !tty) { source, bytes in
                    received = true
                    consume(source, bytes)
                }
                if received { LatencyTrace.mark("docker: log lines found after the follow ended (\(id.prefix(12)))") }
            }
            LatencyTrace.mark("docker: log stream ended (\(id.prefix(12)), \(received ? "with" : "without") output)")
            for batch in reader.finish() { continuation.yield(batch) }
            continuation.finish()
        }.start()
        Task {
            for await batch in batches { await output.receive(batch) }
            self.markLogsDone()
        }
        Thread { [self] in
            var exit = ContainerExit(exitCode: 255, reason: "fargate-local lost track of the container")
            if let r = try? engine.request("POST", "/containers/\(id)/wait", timeout: 0),
                let code = (try? JSONParser.parse(r.body))?["StatusCode"].flatMap({ v -> Int? in
                    if case let .number(n) = v { return Int(n) }
                    return nil
                })
            {
                exit = ContainerExit(exitCode: code)
                LatencyTrace.mark("docker: wait returned")
                if let inspect = try? engine.request("GET", "/containers/\(id)/json"), let state = (try? JSONParser.parse(inspect.body))?["State"],
                    state["OOMKilled"] == .bool(true)
                {
                    // As ECS: Docker's exit code (137 when the main process was the one killed), with the reason.
                    exit = ContainerExit(exitCode: code, reason: "OutOfMemoryError: Container killed due to memory usage")
                }
            }
            // When the task's cgroup runs out of memory the kernel kills one process, but
            // Docker flags every container of the task OOMKilled (the whole subtree is
            // notified). The one killed exits on its own; a sibling exits when stopped.
            if exit.reason != nil && self.stopRequested.withLock({ $0 }) { exit.reason = nil }
            Task { await self.markExited(exit) }
        }.start()
    }

    private func markLogsDone() {
        logsDone = true
        resumeIfFinished()
    }

    private func markExited(_ exit: ContainerExit) {
        exitStatus = exit
        health?.unsubscribe(id)
        resumeIfFinished()
    }

    private func resumeIfFinished() {
        guard logsDone, let exit = exitStatus else { return }
        for w in waiters { w.resume(returning: exit) }
        waiters = []
    }

    func exit() async -> ContainerExit {
        if logsDone, let exit = exitStatus { return exit }
        return await withCheckedContinuation { waiters.append($0) }
    }

    nonisolated func stop(timeout: Duration) async {
        stopRequested.withLock { $0 = true }
        let seconds = Int(timeout.components.seconds)
        let engine = self.engine
        let id = self.id
        _ = try? await Blocking.run { try engine.request("POST", "/containers/\(id)/stop?t=\(seconds)", timeout: 0) }
    }

    nonisolated func runHealthCheck(_ command: [String], environment: [(String, String)], timeout: Duration) async -> Bool {
        guard let first = command.first, command.count >= 2 else { return false }
        let cmd = first == "CMD-SHELL" ? ["/bin/sh", "-c", command[1...].joined(separator: " ")] : Array(command.dropFirst())
        let engine = self.engine
        let id = self.id
        let seconds = max(1, Int(timeout.components.seconds))
        return
            (try? await Blocking.run { () -> Bool in
                let create = try engine.request(
                    "POST", "/containers/\(id)/exec",
                    body: .object([
                        ("Cmd", .array(cmd.map { JSONValue.string($0) })), ("AttachStdout", .bool(true)), ("AttachStderr", .bool(true)),
                    ]))
                guard create.status == 201, let exec = (try? JSONParser.parse(create.body))?["Id"]?.stringValue else { return false }
                guard
                    let started = try? engine.request(
                        "POST", "/exec/\(exec)/start", body: .object([("Detach", .bool(false)), ("Tty", .bool(false))]), timeout: seconds),
                    started.status == 200
                else { return false }
                let inspect = try engine.request("GET", "/exec/\(exec)/json")
                return (try? JSONParser.parse(inspect.body))?["ExitCode"] == .number("0")
            }) ?? false
    }
}

/// Per-task DNAT rules sending a task's traffic for 169.254.170.2:80 (the ECS agent's
/// address, where SDKs look for task credentials and metadata) to the controller.
/// A rule matches the MAC address of the container that holds the task's network
/// namespace, derived from the task id, so it is in place before that container starts
/// (no window in which the task's first request misses it) and a restarted controller
/// finds and replaces a dead one's rules. Best effort: without iptables (or root) the
/// variables are set but unreachable.
enum LinkLocalRoute {
    static var iptables: String? { ExecutableLookup.find("iptables", path: "/usr/sbin:/sbin:/usr/bin:/bin") }

    /// A locally administered unicast MAC for the task's network namespace (Docker's own
    /// addresses start 02:42, these 02:fa).
    static func macAddress(forTask taskID: String) -> String {
        var hex = Array(taskID.lowercased().filter(\.isHexDigit).prefix(8))
        while hex.count < 8 { hex.append("0") }
        return "02:fa:" + stride(from: 0, to: 8, by: 2).map { String(hex[$0..<$0 + 2]) }.joined(separator: ":")
    }

    static func ruleSpec(mac: String, to agent: (host: String, port: Int)) -> [String] {
        [
            "PREROUTING", "-d", "169.254.170.2/32", "-p", "tcp", "-m", "mac", "--mac-source", mac, "-m", "tcp", "--dport", "80",
            "-j", "DNAT", "--to-destination", "\(agent.host):\(agent.port)",
        ]
    }

    /// Routes the task's 169.254.170.2:80 to `agent` (a new task: no older rule can exist).
    static func add(mac: String, to agent: (host: String, port: Int)?) async {
        guard let agent, let iptables else { return }
        _ = await HostCommand.run(iptables, ["-t", "nat", "-I"] + ruleSpec(mac: mac, to: agent))
    }

    /// Points the task's 169.254.170.2:80 at `agent`, replacing whatever rules a dead
    /// controller left for it.
    static func replace(mac: String, to agent: (host: String, port: Int)) async {
        await removeAll(mac: mac)
        await add(mac: mac, to: agent)
    }

    /// Deletes the rule `add` made, in the background: deleting an nftables-backed rule
    /// waits ~12 ms for the kernel, and nothing else depends on it (no other task has
    /// the MAC address it matches).
    static func remove(mac: String, to agent: (host: String, port: Int)?) {
        guard let agent, let iptables else { return }
        HostCommand.startInBackground(iptables, ["-t", "nat", "-D"] + ruleSpec(mac: mac, to: agent))
    }

    /// Deletes every 169.254.170.2 rule for a MAC, whichever controller made it.
    static func removeAll(mac: String) async {
        guard let iptables else { return }
        let listing = await HostCommand.run(iptables, ["-t", "nat", "-S", "PREROUTING"]).output
        for line in listing.split(separator: "\n")
        where line.hasPrefix("-A PREROUTING") && line.lowercased().contains("--mac-source \(mac)")
            && line.contains("169.254.170.2")
        {
            let args = line.split(separator: " ").map(String.init)
            _ = await HostCommand.run(iptables, ["-t", "nat", "-D"] + args.dropFirst())
        }
    }
}
