import ECSModel
import Foundation
import ShimCore

#if canImport(Glibc)
import Glibc
#endif

/// Drives one task through ECS's lifecycle: starts its containers in `dependsOn`
/// order, watches health checks, stops the task when an essential container exits
/// (or on request, or on timeout), shuts the others down in reverse dependency
/// order with their stopTimeout, and records every transition: saved in order in the
/// background (`RecordWriter`), the final STOPPED one before `run()` returns.
public actor TaskSupervisor {
    enum Event: Sendable {
        case exited(String, ContainerExit)
        case health(String, HealthStatus)
        case stop(reason: String, code: StopCode, timeout: Int?)
        /// Stop now: every running container is killed at once (SIGKILL), whatever its
        /// stopTimeout and the shutdown order.
        case killNow(reason: String)
        case startTimeout(String)
        case attached(TaskNetworkInterface)
        case imageDigest(String, String)
        /// The task's missing images were pulled (nil) or could not be (why).
        case imagesReady(ContainerStartError?)
    }

    private enum Phase { case starting, stopping }

    private var record: TaskRecord
    private let store: StateStore
    private let logs: LogStore
    private let runtime: any ContainerRuntime
    private let console: (any TaskConsole)?
    private let environment: ContainerEnvironment
    private let volumes: TaskVolumes

    private var phase: Phase = .starting
    private var handles: [String: any RunningContainer] = [:]
    private var writers: [String: LogStreamWriter] = [:]
    private var launches: [String: ContainerLaunch] = [:]
    private let secretResolver: SecretResolver
    private var signalled: Set<String> = []
    private var timers: [Task<Void, Never>] = []
    private var healthChecks: [String: Task<Void, Never>] = [:]
    private let events: AsyncStream<Event>
    private let sink: AsyncStream<Event>.Continuation
    private let recordWriter: RecordWriter

    /// The default time a container waits for its dependencies (ECS's startTimeout default).
    static let defaultStartTimeout = 180

    init(
        record: TaskRecord, store: StateStore, logs: LogStore, runtime: any ContainerRuntime,
        console: (any TaskConsole)?, environment: ContainerEnvironment, stateDirectory: URL, secretResolver: SecretResolver
    ) {
        self.secretResolver = secretResolver
        self.record = record
        self.store = store
        self.logs = logs
        self.runtime = runtime
        self.console = console
        self.environment = environment
        self.volumes = TaskVolumes(stateDirectory: stateDirectory, taskID: record.id)
        (events, sink) = AsyncStream.makeStream(of: Event.self)
        recordWriter = RecordWriter(store: store) { [console] error in
            await console?.event("warning: could not save task state: \(error)")
        }
    }

    /// Asks the task to stop (StopTask). The first stop reason recorded wins.
    /// `timeout` (seconds), when given, replaces each container's stopTimeout (`stop --time`).
    public nonisolated func requestStop(reason: String = "Task stopped by user", code: StopCode = .userInitiated, timeout: Int? = nil) {
        sink.yield(.stop(reason: String(reason.prefix(255)), code: code, timeout: timeout))
    }

    /// Stops the task now, as a second Ctrl-C does: the task stops (with `reason`, unless a
    /// stop was already asked for) and every running container is killed at once (SIGKILL),
    /// without waiting for its stopTimeout or for the containers that depend on it.
    public nonisolated func requestImmediateStop(reason: String = "Task stopped by user") {
        sink.yield(.killNow(reason: String(reason.prefix(255))))
    }

    /// Runs the task to STOPPED and returns its final record.
    public func run() async -> TaskRecord {
        await prepareAndStart()
        return await runLoop()
    }

    private func runLoop() async -> TaskRecord {
        var iterator = events.makeAsyncIterator()
        while !isDone {
            guard let event = await iterator.next() else { break }
            await handle(event)
        }
        return await finish()
    }

    // MARK: - Start-up

    private func prepareAndStart() async {
        record.runtimeName = runtime.name
        // Docker: whether the engine has the task's images is asked while the task is
        // prepared (one inspect per image, off the start path).
        let wanted = record.definition.containerDefinitions.compactMap { c in
            c.image.flatMap { $0.isEmpty ? nil : (image: $0, platform: record.definition.platform.imagePlatform) }
        }
        let runtime = self.runtime
        let imageCheck: Task<Set<String>, Never>? = runtime.name == "docker" ? Task { await runtime.missingImages(wanted) } : nil
        for note in HostPlatform.startNotes(for: record.definition.platform, runtime: runtime.name) {
            await console?.event(note)
        }
        let setsTZ =
            record.definition.containerDefinitions.contains { ($0.environment ?? []).contains { $0.name == "TZ" } }
            || (record.task.overrides.containerOverrides ?? []).contains { ($0.environment ?? []).contains { $0.name == "TZ" } }
        if let note = HostPlatform.timeZoneNote(runtime: runtime.name, setsTZ: setsTZ) { await console?.event(note) }
        let folders: [String: String]
        do {
            folders = try volumes.prepare(record.definition.volumes ?? [])
        } catch {
            await failToStart(error.description)
            return
        }
        await transition(to: .pending) {
            $0.task.pullStartedAt = Date()
            $0.task.pullStoppedAt = Date()
            // awsvpc: the task's network interface, as ECS attaches an ENI, known once it exists.
            if $0.definition.networkMode == "awsvpc" && $0.task.attachments == nil {
                $0.task.attachments = [Attachment(id: ARNFactory.newUUID(), type: "ElasticNetworkInterface", status: "PRECREATED", details: [])]
                if let shared = runtime.sharedNetworkInterface { Self.record(shared, in: &$0.task) }
            }
        }
        await transition(to: .activating) { _ in }
        guard await buildLaunches(folders: folders) else { return }
        persist()
        armTimeout()
        let missing = await imageCheck?.value ?? []
        guard missing.isEmpty else {
            beginPulls(of: missing)
            return
        }
        for name in launches.keys { launches[name]?.imagePrepared = true }
        await startEligibleContainers()
    }

    /// Pulls the task's missing images before any of its containers starts, as ECS pulls a
    /// task's images first (`pullStartedAt`..`pullStoppedAt`): a missing image fails the
    /// task before anything ran. The pulls run apart from the supervisor, which goes on
    /// taking events: StopTask, `--timeout` or Ctrl-C stop a task while it pulls (the pull
    /// left to the engine). `.imagesReady` continues the start.
    private func beginPulls(of missing: Set<String>) {
        let needed = record.definition.containerDefinitions.compactMap { c in
            c.name.flatMap { launches[$0] }.flatMap { missing.contains($0.image ?? "") ? $0 : nil }
        }
        record.task.pullStartedAt = Date()
        let (runtime, sink) = (self.runtime, self.sink)
        Task {
            do throws(ContainerStartError) {
                try await runtime.prepareImages(for: needed)
                sink.yield(.imagesReady(nil))
            } catch {
                sink.yield(.imagesReady(error))
            }
        }
    }

    /// Resolves each container's environment (files, secrets), opens its log stream and
    /// builds its launch. False when the task failed to start (already recorded).
    private func buildLaunches(folders: [String: String]) async -> Bool {
        for container in record.definition.containerDefinitions {
            guard let name = container.name else { continue }
            do {
                launches[name] = try await makeLaunch(for: container, folders: folders, warn: true)
            } catch {
                await failToStart(error.description)
                return false
            }
            if container.healthCheck.map({ $0.command.first != "NONE" }) == true, let i = record.task.containerIndex(name),
                record.task.containers[i].healthStatus == nil
            {
                record.task.containers[i].healthStatus = .unknown
            }
        }
        return true
    }

    /// One container's launch: its environment files and secrets resolved now (with the
    /// execution role), its log stream opened (unless it is), its command line, mounts,
    /// labels and limits. `warn`: say what the runtime will not apply.
    private func makeLaunch(for container: ContainerDefinition, folders: [String: String], warn: Bool) async throws(ContainerStartError) -> ContainerLaunch {
        let definition = record.definition
        let name = container.name ?? ""
        let override = record.task.overrides.container(name)
        var files: [(String, String)] = []
        var secrets: [(String, String)] = []
        var registryAuth: String?
        do {
            for file in override?.environmentFiles ?? container.environmentFiles ?? [] {
                let resolver = secretResolver
                files += try await Blocking.run { try resolver.environmentFile(file) }
            }
            for secret in container.secrets ?? [] {
                let resolver = secretResolver
                secrets.append((secret.name, try await Blocking.run { try resolver.resolve(secret) }))
            }
            if runtime.name == "docker", let credentials = container.repositoryCredentials {
                let (resolver, image) = (secretResolver, container.image ?? "")
                registryAuth = try await Blocking.run { try resolver.registryAuth(credentials, image: image) }
            }
        } catch let error as ContainerStartError {
            throw error
        } catch {
            throw ContainerStartError(kind: "ResourceInitializationError", detail: "\(error)")
        }
        let stream = record.logStreams[name] ?? logStreamName(for: container)
        if writers[name] == nil {
            await noteMissingLogGroup(stream.group, of: container)
            do {
                writers[name] = try logs.openWriter(for: stream, startPattern: Self.multilineStartPattern(of: container))
            } catch {
                throw ContainerStartError(kind: "ResourceInitializationError", detail: "cannot create log stream \(stream.stream) in \(stream.group): \(error)")
            }
        }
        record.logStreams[name] = stream
        var launch = ContainerLaunch(
            taskID: record.id, containerName: name,
            arguments: commandLine(for: container, override: override),
            environment: environment.variables(
                for: container, taskID: record.id, override: override, credentialsToken: record.credentialsToken,
                files: files, secrets: secrets),
            workingDirectory: container.workingDirectory,
            mounts: volumes.mounts(for: container, in: definition, folders: folders))
        launch.runDirectory = volumes.stateDirectory.appendingPathComponent("tasks/\(record.id)/run/\(name)").path
        launch.logFile = logs.fileURL(for: stream).path
        launch.image = container.image
        launch.entryPoint = container.entryPoint
        launch.command = override?.command ?? container.command
        launch.definition = container.limited(by: override)
        launch.registryAuth = registryAuth
        launch.taskContainerCount = definition.containerDefinitions.count
        if record.options.publish == true {
            launch.publishedPorts = definition.containerDefinitions.flatMap { $0.portMappings ?? [] }.compactMap { pm in
                pm.containerPort.map { ($0, pm.hostPort.flatMap { $0 == 0 ? nil : $0 } ?? $0, pm.protocol ?? "tcp") }
            }
        }
        if warn {
            for u in container.ulimits ?? [] {
                guard let hostHard = u.name == "nofile" || runtime.name == "process" ? ResourceLimit.currentHard(u.name) : nil, u.hardLimit > hostHard else {
                    continue
                }
                await console?.event("warning: container \(name): ulimit \(u.name) \(u.hardLimit) is above this host's hard limit; capped at \(hostHard)")
            }
            for warning in Self.unappliedFields(of: container.limited(by: override), runtime: runtime.name) {
                await console?.event("warning: container \(name): \(warning)")
            }
        }
        launch.imagePlatform = definition.platform.imagePlatform
        launch.reportPull = { [console] line in Task { await console?.event(line) } }
        launch.sharesTaskPIDNamespace = definition.pidMode == "task"
        launch.taskNetworkSysctls = Self.networkSysctls(of: definition)
        launch.taskCPU = record.task.cpu.flatMap(Int.init)
        launch.taskMemoryMiB = record.task.memory.flatMap(Int.init)
        launch.labels = [
            "com.amazonaws.ecs.cluster": record.task.clusterArn,
            "com.amazonaws.ecs.container-name": name,
            "com.amazonaws.ecs.task-arn": record.task.taskArn,
            "com.amazonaws.ecs.task-definition-family": definition.family,
            "com.amazonaws.ecs.task-definition-version": String(definition.revision ?? 1),
            "dev.fargate-local.task-id": record.id,
        ].merging(container.dockerLabels ?? [:]) { ecs, _ in ecs }
        return launch
    }

    /// What the container asks for that the process runtime does not do, each said once at start
    /// so that a task that passes here is not mistaken for one that does all it says.
    static func unappliedFields(of container: ContainerDefinition, runtime: String) -> [String] {
        guard runtime == "process" else { return [] }
        var out: [String] = []
        if !(container.systemControls ?? []).isEmpty {
            out.append("systemControls are not applied in the process runtime (host processes share the host's kernel parameters)")
        }
        if container.pseudoTerminal == true || container.interactive == true {
            out.append("pseudoTerminal and interactive are not applied in the process runtime: its output goes through pipes, its stdin is empty")
        }
        // What only a container can do: a host process runs as fargate-local's user, on the
        // host's filesystem, with its limits and capabilities.
        var notApplied: [String] = []
        if container.user != nil { notApplied.append("user") }
        if container.readonlyRootFilesystem == true { notApplied.append("readonlyRootFilesystem") }
        if container.memory != nil || container.memoryReservation != nil { notApplied.append("its memory limits") }
        if let linux = container.linuxParameters {
            if linux.initProcessEnabled == true { notApplied.append("linuxParameters.initProcessEnabled") }
            if linux.capabilities != nil { notApplied.append("linuxParameters.capabilities") }
            if linux.tmpfs != nil { notApplied.append("linuxParameters.tmpfs") }
        }
        if !notApplied.isEmpty {
            out.append("\(notApplied.joined(separator: ", ")) not applied in the process runtime (a host process); use --runtime docker for them")
        }
        return out
    }

    /// The start pattern of a container's awslogs multi-line events, if it asks for them.
    static func multilineStartPattern(of container: ContainerDefinition) -> String? {
        guard let log = container.logConfiguration, log.logDriver == "awslogs", let options = log.options else { return nil }
        return AwslogsMultiline.startPattern(options: options)
    }

    /// The `net.*` systemControls of the task's containers, in order, a later container's
    /// value for a parameter replacing an earlier one's.
    static func networkSysctls(of definition: TaskDefinition) -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        for control in definition.containerDefinitions.flatMap({ $0.systemControls ?? [] }) {
            guard let key = control.namespace, key.hasPrefix("net."), let value = control.value else { continue }
            out.removeAll { $0.key == key }
            out.append((key, value))
        }
        return out
    }

    private func armTimeout() {
        if let seconds = record.options.timeoutSeconds {
            let sink = self.sink
            timers.append(
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                    if !Task.isCancelled {
                        sink.yield(.stop(reason: "\(TaskRecord.timeoutReasonPrefix) (\(Self.formatDuration(seconds)))", code: .userInitiated, timeout: nil))
                    }
                })
        }
    }

    /// Says when a container's awslogs group did not exist (it is made here, as its first
    /// stream is), unless `awslogs-create-group` is "true": on Fargate the task would fail
    /// to start. Once per group and task.
    private func noteMissingLogGroup(_ group: String, of container: ContainerDefinition) async {
        guard let config = container.logConfiguration, config.logDriver == "awslogs",
            (config.options?["awslogs-create-group"] ?? "").lowercased() != "true",
            !notedLogGroups.contains(group), !logs.groupExists(group)
        else { return }
        notedLogGroups.insert(group)
        await console?.event(
            "note: log group \(group) did not exist, so fargate-local made it; on Fargate this task fails to start (ResourceInitializationError: ... The specified log group does not exist.) unless the group exists, or awslogs-create-group is \"true\" (with logs:CreateLogGroup for the execution role)"
        )
    }

    /// The log sinks of every container (for containers found again after a restart).
    public func outputSinks() async -> [String: any ContainerOutputSink] {
        var out: [String: any ContainerOutputSink] = [:]
        for container in record.definition.containerDefinitions {
            guard let name = container.name else { continue }
            if writers[name] == nil {
                let stream = record.logStreams[name] ?? logStreamName(for: container)
                writers[name] = try? logs.openWriter(for: stream, startPattern: Self.multilineStartPattern(of: container))
                record.logStreams[name] = stream
            }
            if let writer = writers[name] {
                out[name] = ContainerLogSink(container: name, writer: writer, console: console, writesStream: !runtime.writesLogStreams)
            }
        }
        return out
    }

    /// Continues supervising a task whose controller died, with its containers found again
    /// by the runtime; runs it to STOPPED like `run()`.
    public func resume(adopting adopted: [String: AdoptedContainer]) async -> TaskRecord {
        record.setSupervisor(getpid())
        phase = record.task.desiredStatus == "STOPPED" || record.task.lastStatus >= .deactivating ? .stopping : .starting
        await console?.event("re-adopted task \(record.id) after a controller restart")
        if let folders = try? volumes.prepare(record.definition.volumes ?? []), phase == .starting,
            record.task.containers.contains(where: { $0.lastStatus == .pending })
        {
            // Containers that never started may still start: they need their launches.
            guard await buildLaunches(folders: folders) else { return await runLoop() }
        }
        for c in record.task.containers where c.lastStatus != .stopped {
            switch adopted[c.name] {
            case let .running(handle)?:
                handles[c.name] = handle
                // Its restartAttemptPeriod counts from when it started, under the old controller.
                let ranFor = record.containerStartTimes?[c.name].map { max(0, Date().timeIntervalSince1970 - $0) } ?? 0
                lastStarts[c.name] = .now - .milliseconds(Int64(ranFor * 1000))
                let sink = self.sink
                let name = c.name
                Task {
                    let exit = await handle.exit()
                    sink.yield(.exited(name, exit))
                }
                if let check = record.definition.containerDefinitions.first(where: { $0.name == c.name })?.healthCheck, check.command.first != "NONE" {
                    healthChecks[c.name] = Self.healthWatch(name: c.name, check: check, handle: handle, environment: [], sink: sink)
                }
            case let .exited(exit)?:
                sink.yield(.exited(c.name, exit))
            case nil where c.lastStatus == .running:
                sink.yield(.exited(c.name, ContainerExit(exitCode: 255, reason: "the container disappeared while fargate-local was not running")))
            case nil:
                break
            }
        }
        persist()
        if phase == .stopping { await stopNextWave() } else { armTimeout() }
        return await runLoop()
    }

    /// `entryPoint` + `command` as ECS combines them; a mapped image supplies the entrypoint.
    private func commandLine(for container: ContainerDefinition, override: ContainerOverride?) -> [String] {
        let command = override?.command ?? container.command ?? []
        if let entry = container.entryPoint, !entry.isEmpty { return entry + command }
        if let image = container.image, let mapped = Self.mappedExecutable(image, in: record.options.imageMap) {
            return [mapped] + command
        }
        return command
    }

    static func mappedExecutable(_ image: String, in map: [String: String]) -> String? {
        if let exact = map[image] { return exact }
        let untagged = image.split(separator: "@").first.map(String.init) ?? image
        let repo =
            untagged.lastIndex(of: ":").map { i in untagged.contains("/") && untagged[i...].contains("/") ? untagged : String(untagged[..<i]) } ?? untagged
        return map[repo] ?? map[repo + ":latest"]
    }

    private func logStreamName(for container: ContainerDefinition) -> LogStreamName {
        let name = container.name ?? ""
        if let log = container.logConfiguration, log.logDriver == "awslogs", let group = log.options?["awslogs-group"] {
            if let prefix = log.options?["awslogs-stream-prefix"], !prefix.isEmpty {
                return LogStreamName(group: group, stream: "\(prefix)/\(name)/\(record.id)")
            }
            return LogStreamName(group: group, stream: "\(name)/\(record.id)")
        }
        return LogStreamName(group: "/fargate-local/\(record.definition.family)", stream: "\(name)/\(record.id)")
    }

    private enum Readiness {
        case ready, waiting
        case impossible(String)
    }

    private func readiness(of container: ContainerDefinition) -> Readiness {
        for dep in container.dependsOn ?? [] {
            guard let i = record.task.containerIndex(dep.containerName) else { continue }
            let target = record.task.containers[i]
            let name = container.name ?? ""
            switch dep.condition {
            case "START":
                if target.lastStatus == .pending { return .waiting }
            case "COMPLETE":
                if target.lastStatus != .stopped { return .waiting }
                if target.exitCode == nil {
                    return .impossible(
                        "container \"\(name)\" cannot start: its dependency \"\(dep.containerName)\" never started, so the COMPLETE condition can never be met")
                }
            case "SUCCESS":
                if target.lastStatus != .stopped { return .waiting }
                if target.exitCode != 0 {
                    let how = target.exitCode.map { "exited with code \($0)" } ?? "never started"
                    return .impossible(
                        "container \"\(name)\" cannot start: its dependency \"\(dep.containerName)\" \(how), so the SUCCESS condition can never be met")
                }
            case "HEALTHY":
                if target.healthStatus == .healthy { continue }
                if target.healthStatus == .unhealthy {
                    return .impossible(
                        "container \"\(name)\" cannot start: its dependency \"\(dep.containerName)\" is UNHEALTHY, so the HEALTHY condition can never be met")
                }
                if target.lastStatus == .stopped {
                    return .impossible("container \"\(name)\" cannot start: its dependency \"\(dep.containerName)\" stopped before it became HEALTHY")
                }
                return .waiting
            default:
                return .impossible("container \"\(name)\" has an unknown dependsOn condition \"\(dep.condition)\"")
            }
        }
        return .ready
    }

    private var startTimersArmed: Set<String> = []
    private var stopTimeoutOverride: Int?
    /// Log groups already said to have been missing (`noteMissingLogGroup`).
    private var notedLogGroups: Set<String> = []
    /// When each container last started, for its restartPolicy's restartAttemptPeriod.
    private var lastStarts: [String: ContinuousClock.Instant] = [:]
    /// The runtime's answer to where the task is on the network, asked once its first container runs.
    private var networkLookup: Task<TaskNetworkInterface?, Never>?
    /// Each Docker container's image digest, looked up once it runs.
    private var digestLookups: [Task<(String, String)?, Never>] = []

    private func startEligibleContainers() async {
        var progress = true
        while progress && phase == .starting {
            progress = false
            for container in record.definition.containerDefinitions {
                guard phase == .starting, let name = container.name, let i = record.task.containerIndex(name),
                    record.task.containers[i].lastStatus == .pending, handles[name] == nil
                else { continue }
                switch readiness(of: container) {
                case .ready:
                    await start(container)
                    progress = true
                case .waiting:
                    if !startTimersArmed.contains(name) {
                        startTimersArmed.insert(name)
                        let seconds = container.startTimeout ?? Self.defaultStartTimeout
                        let sink = self.sink
                        timers.append(
                            Task {
                                try? await Task.sleep(for: .seconds(seconds))
                                if !Task.isCancelled { sink.yield(.startTimeout(name)) }
                            })
                    }
                case let .impossible(reason):
                    await failToStart("CannotStartContainerError: \(reason)")
                    return
                }
            }
        }
    }

    private func start(_ container: ContainerDefinition) async {
        guard let name = container.name, let launch = launches[name], let writer = writers[name] else { return }
        let sinkForOutput = ContainerLogSink(container: name, writer: writer, console: console, writesStream: !runtime.writesLogStreams)
        let handle: any RunningContainer
        do {
            LatencyTrace.mark("task \(record.id.prefix(8)): starting container \(name)")
            handle = try await runtime.start(launch, output: sinkForOutput)
            LatencyTrace.mark("task \(record.id.prefix(8)): container \(name) started")
        } catch {
            await update(container: name) {
                $0.lastStatus = .stopped
                $0.reason = error.description
            }
            await failToStart(error.description)
            return
        }
        handles[name] = handle
        // The network namespace exists once a container runs (saved with the container's RUNNING).
        if let attachment = record.task.attachments?.first, attachment.status == "PRECREATED", attachment.detail("privateIPv4Address") != nil {
            record.task.attachments?[0].status = "ATTACHED"
        }
        await update(container: name) {
            $0.lastStatus = .running
            $0.runtimeId = handle.runtimeID
        }
        record.runtimeIDs[name] = handle.runtimeID
        if runtime.name == "docker", let launch = launches[name], record.task.containers[record.task.containerIndex(name) ?? 0].imageDigest == nil {
            // Off the start path: one more engine request.
            let (runtime, sink) = (self.runtime, self.sink)
            digestLookups.append(
                Task {
                    let digest = await runtime.imageDigest(for: launch)
                    if let digest { sink.yield(.imageDigest(name, digest)) }
                    return digest.map { (name, $0) }
                })
        }
        if let pid = Int32(handle.runtimeID), let started = ProcStat.startTime(pid) {
            record.processStartTimes = (record.processStartTimes ?? [:]).merging([name: started]) { $1 }
        }
        await console?.event("container \(name) started")
        watch(name, handle, container: container, environment: launch.environment)
        let sink = self.sink
        if networkLookup == nil, record.task.attachments != nil, record.task.attachments?.first?.detail("privateIPv4Address") == nil {
            // Off the start path: a Docker task's address is one more engine request.
            let runtime = self.runtime
            networkLookup = Task {
                let found = await runtime.networkInterface(of: handle)
                if let found { sink.yield(.attached(found)) }
                return found
            }
        }
        let essentials = record.definition.containerDefinitions.filter(\.isEssential).compactMap(\.name)
        let allEssentialRunning = essentials.allSatisfy { n in
            record.task.containerIndex(n).map { record.task.containers[$0].lastStatus != .pending } ?? false
        }
        if allEssentialRunning && record.task.lastStatus < .running {
            await transition(to: .running) {
                $0.task.startedAt = Date()
                $0.task.connectivityAt = Date()
                $0.task.connectivity = "CONNECTED"
            }
        }
    }

    /// Follows a started container: its exit (an event) and its health checks.
    private func watch(_ name: String, _ handle: any RunningContainer, container: ContainerDefinition, environment: [(String, String)]) {
        lastStarts[name] = .now
        // Saved with the next change of the record (the container's RUNNING follows).
        record.containerStartTimes = (record.containerStartTimes ?? [:]).merging([name: Date().timeIntervalSince1970]) { $1 }
        let sink = self.sink
        Task {
            let exit = await handle.exit()
            sink.yield(.exited(name, exit))
        }
        if let check = container.healthCheck, check.command.first != "NONE" {
            healthChecks[name] = Self.healthWatch(name: name, check: check, handle: handle, environment: environment, sink: sink)
        }
    }

    /// ECS's container restart policy: restart unless the exit code is ignored or the
    /// container ran for less than its restartAttemptPeriod (default 300 s) since it last started.
    static func shouldRestart(_ policy: ContainerRestartPolicy?, exitCode: Int, ranFor: Duration) -> Bool {
        guard let policy, policy.enabled, !(policy.ignoredExitCodes ?? []).contains(exitCode) else { return false }
        return ranFor >= .seconds(policy.restartAttemptPeriod ?? defaultRestartAttemptPeriod)
    }

    /// ECS's default restartAttemptPeriod.
    static let defaultRestartAttemptPeriod = 300

    /// Starts an exited container again under its restartPolicy; false when it could not be
    /// (it then stops as if it had no policy).
    private func restart(_ name: String, after exit: ContainerExit) async -> Bool {
        guard let container = record.definition.containerDefinitions.first(where: { $0.name == name }),
            let old = handles[name], let stream = record.logStreams[name]
        else { return false }
        var launch: ContainerLaunch
        if let built = launches[name] {
            launch = built
        } else if runtime.name == "docker" {
            // Re-adopted after a controller restart: Docker starts the same container again,
            // which needs only its name and definition (its environment is the container's).
            launch = ContainerLaunch(taskID: record.id, containerName: name, arguments: [], environment: [], workingDirectory: nil, mounts: [])
            launch.definition = container.limited(by: record.task.overrides.container(name))
        } else {
            // Re-adopted: its launch (with its secrets, never saved) is made again, as at start.
            do {
                let folders = try volumes.prepare(record.definition.volumes ?? [])
                launch = try await makeLaunch(for: container, folders: folders, warn: false)
                launches[name] = launch
            } catch {
                await console?.event("container \(name) could not be restarted: \(error)")
                return false
            }
        }
        healthChecks[name]?.cancel()
        let count = (record.restartCounts?[name] ?? 0) + 1
        await console?.event("container \(name) exited with code \(exit.exitCode); restarting it (restartPolicy, restart \(count))")
        if writers[name] == nil { writers[name] = try? logs.openWriter(for: stream, startPattern: Self.multilineStartPattern(of: container)) }
        guard let writer = writers[name] else { return false }
        let output = ContainerLogSink(container: name, writer: writer, console: console, writesStream: !runtime.writesLogStreams)
        let handle: any RunningContainer
        do {
            handle = try await runtime.restart(old, launch: launch, output: output)
        } catch {
            await console?.event("container \(name) could not be restarted: \(error.description)")
            return false
        }
        handles[name] = handle
        record.restartCounts = (record.restartCounts ?? [:]).merging([name: count]) { $1 }
        record.runtimeIDs[name] = handle.runtimeID
        if let pid = Int32(handle.runtimeID), let started = ProcStat.startTime(pid) {
            record.processStartTimes = (record.processStartTimes ?? [:]).merging([name: started]) { $1 }
        }
        watch(name, handle, container: container, environment: launch.environment)
        await update(container: name) {
            $0.runtimeId = handle.runtimeID
            $0.healthStatus = .unknown
        }
        return true
    }

    /// Follows a container's health: the runtime's own check when it has one (Docker's),
    /// else probes run by the supervisor.
    private static func healthWatch(
        name: String, check: HealthCheck, handle: any RunningContainer,
        environment: [(String, String)], sink: AsyncStream<Event>.Continuation
    ) -> Task<Void, Never> {
        guard let statuses = handle.nativeHealth else {
            return healthLoop(name: name, check: check, handle: handle, environment: environment, sink: sink)
        }
        return Task {
            var last = HealthStatus.unknown
            for await status in statuses where status != last {
                last = status
                sink.yield(.health(name, status))
            }
        }
    }

    private static func healthLoop(
        name: String, check: HealthCheck, handle: any RunningContainer,
        environment: [(String, String)], sink: AsyncStream<Event>.Continuation
    ) -> Task<Void, Never> {
        Task {
            let startedAt = ContinuousClock.now
            let startPeriod = Duration.seconds(check.effectiveStartPeriod)
            var failures = 0
            var status = HealthStatus.unknown
            // The first probe runs shortly after start; later ones every `interval`.
            try? await Task.sleep(for: .milliseconds(250))
            while !Task.isCancelled {
                let ok = await handle.runHealthCheck(
                    check.command, environment: environment,
                    timeout: .seconds(check.effectiveTimeout))
                if Task.isCancelled { return }
                if ok {
                    failures = 0
                    if status != .healthy {
                        status = .healthy
                        sink.yield(.health(name, .healthy))
                    }
                } else if status == .healthy || ContinuousClock.now - startedAt >= startPeriod {
                    failures += 1
                    if failures >= check.effectiveRetries && status != .unhealthy {
                        status = .unhealthy
                        sink.yield(.health(name, .unhealthy))
                    }
                }
                try? await Task.sleep(for: .seconds(check.effectiveInterval))
            }
        }
    }

    // MARK: - Events

    private func handle(_ event: Event) async {
        switch event {
        case let .exited(name, exit):
            LatencyTrace.mark("task \(record.id.prefix(8)): container \(name) exited")
            if phase == .starting, let started = lastStarts[name],
                Self.shouldRestart(
                    record.definition.containerDefinitions.first { $0.name == name }?.restartPolicy,
                    exitCode: exit.exitCode, ranFor: .now - started),
                await restart(name, after: exit)
            {
                return
            }
            healthChecks[name]?.cancel()
            await update(container: name) {
                $0.lastStatus = .stopped
                $0.exitCode = exit.exitCode
                if let reason = exit.reason { $0.reason = reason }
            }
            await writers[name]?.close()
            await console?.event("container \(name) exited with code \(exit.exitCode)")
            if exit.lostLogLines > 0 {
                await console?.event(
                    "warning: container \(name): \(exit.lostLogLines) line(s) of its output could not be written to its log stream (its disk full?) and are lost"
                )
            }
            let essential = record.definition.containerDefinitions.first { $0.name == name }?.isEssential ?? false
            switch phase {
            case .starting:
                if essential {
                    record.stoppingContainer = name
                    await beginStop(code: .essentialContainerExited, reason: "Essential container in task exited")
                } else {
                    await startEligibleContainers()
                }
            case .stopping:
                if essential && record.stoppingContainer == nil { record.stoppingContainer = name }
                await stopNextWave()
            }
        case let .health(name, status):
            await update(container: name) { $0.healthStatus = status }
            await console?.event("container \(name) is \(status.rawValue)")
            if phase == .starting { await startEligibleContainers() }
        case let .stop(reason, code, timeout):
            if let timeout { stopTimeoutOverride = timeout }
            await beginStop(code: code, reason: reason)
        case let .killNow(reason):
            stopTimeoutOverride = 0
            await beginStop(code: .userInitiated, reason: reason)
            guard !isDone else { return }
            await console?.event("killing the task's containers now")
            for c in record.task.containers where c.lastStatus == .running {
                guard let handle = handles[c.name] else { continue }
                signalled.insert(c.name)
                Task { await handle.stop(timeout: .zero) }
            }
        case let .attached(interface):
            applyNetworkInterface(interface)
            let dns = record.task.attachments?.first?.detail("privateDnsName").map { " (\($0))" } ?? ""
            await console?.event("task network interface attached: \(interface.ipv4Address)\(dns)")
        case let .imageDigest(name, digest):
            await update(container: name) { $0.imageDigest = digest }
        case let .imagesReady(failure):
            guard phase == .starting else { return }
            record.task.pullStoppedAt = Date()
            if let failure {
                for (name, launch) in launches where failure.image != nil && launch.image == failure.image {
                    await update(container: name) {
                        $0.lastStatus = .stopped
                        $0.reason = failure.description
                    }
                }
                await failToStart(failure.description)
                return
            }
            for name in launches.keys { launches[name]?.imagePrepared = true }
            await startEligibleContainers()
        case let .startTimeout(name):
            guard phase == .starting, let i = record.task.containerIndex(name),
                record.task.containers[i].lastStatus == .pending
            else { return }
            let seconds = record.definition.containerDefinitions.first { $0.name == name }?.startTimeout ?? Self.defaultStartTimeout
            await failToStart(
                "CannotStartContainerError: container \"\(name)\" cannot start: its dependsOn conditions were not met within its startTimeout (\(seconds) s)")
        }
    }

    /// Records the task's interface (once it is known) and saves it.
    private func applyNetworkInterface(_ interface: TaskNetworkInterface) {
        guard record.task.attachments?.first?.detail("privateIPv4Address") == nil else { return }
        Self.record(interface, in: &record.task)
        if record.task.lastStatus != .stopped { record.task.attachments?[0].status = "ATTACHED" }
        record.task.version += 1
        persist()
    }

    /// Writes a task's interface into its ENI attachment, with the details ECS gives (MAC,
    /// private DNS name, address), and into every container's `networkInterfaces`.
    static func record(_ interface: TaskNetworkInterface, in task: inout ECSTask) {
        guard var attachment = task.attachments?.first else { return }
        let region = task.taskArn.split(separator: ":").dropFirst(3).first.map(String.init) ?? "us-east-1"
        let host = "ip-" + interface.ipv4Address.replacingOccurrences(of: ".", with: "-")
        var details: [KeyValuePair] = []
        if let mac = interface.macAddress { details.append(KeyValuePair(name: "macAddress", value: mac)) }
        details.append(KeyValuePair(name: "privateDnsName", value: region == "us-east-1" ? "\(host).ec2.internal" : "\(host).\(region).compute.internal"))
        details.append(KeyValuePair(name: "privateIPv4Address", value: interface.ipv4Address))
        attachment.details = details
        task.attachments = [attachment]
        for i in task.containers.indices {
            task.containers[i].networkInterfaces = [NetworkInterface(attachmentId: attachment.id, privateIpv4Address: interface.ipv4Address)]
        }
    }

    private func failToStart(_ reason: String) async {
        await console?.event("task failed to start: \(reason)")
        await beginStop(code: .taskFailedToStart, reason: reason)
    }

    private func beginStop(code: StopCode, reason: String) async {
        guard phase == .starting else { return }
        phase = .stopping
        for timer in timers { timer.cancel() }
        record.task.desiredStatus = "STOPPED"
        record.task.stopCode = code
        record.task.stoppedReason = String(reason.prefix(255))
        record.task.stoppingAt = Date()
        // A failed start has said why already ("task failed to start: ...").
        if code != .taskFailedToStart { await console?.event("stopping task: \(record.task.stoppedReason ?? "")") }
        await transition(to: .deactivating) { _ in }
        await transition(to: .stopping) { _ in }
        for c in record.task.containers where c.lastStatus == .pending && handles[c.name] == nil {
            await update(container: c.name) { $0.lastStatus = .stopped }
        }
        await stopNextWave()
    }

    /// Signals every running container on which no running container depends:
    /// shutdown runs in the reverse of start-up dependency order.
    private func stopNextWave() async {
        for c in record.task.containers where c.lastStatus == .running && !signalled.contains(c.name) {
            let dependents = record.definition.containerDefinitions.filter { def in
                (def.dependsOn ?? []).contains { $0.containerName == c.name }
                    && def.name.flatMap { record.task.containerIndex($0) }.map { record.task.containers[$0].lastStatus == .running } == true
            }
            guard dependents.isEmpty, let handle = handles[c.name] else { continue }
            signalled.insert(c.name)
            let timeout = stopTimeoutOverride ?? min(record.definition.containerDefinitions.first { $0.name == c.name }?.stopTimeout ?? 30, 120)
            Task { await handle.stop(timeout: .seconds(timeout)) }
        }
    }

    private var isDone: Bool {
        phase == .stopping && record.task.containers.allSatisfy { $0.lastStatus == .stopped }
    }

    private func finish() async -> TaskRecord {
        for timer in timers { timer.cancel() }
        for (_, check) in healthChecks { check.cancel() }
        // Every container has exited: execution has stopped; what follows is clean-up.
        await transition(to: .deprovisioning) { $0.task.executionStoppedAt = Date() }
        // A task that ended before its address was recorded still reports it.
        if let interface = await networkLookup?.value { applyNetworkInterface(interface) }
        for lookup in digestLookups {
            if let (name, digest) = await lookup.value, let i = record.task.containerIndex(name) { record.task.containers[i].imageDigest = digest }
        }
        await runtime.cleanUp(taskID: record.id)
        volumes.removeScratch()
        for (_, writer) in writers { await writer.close() }
        LatencyTrace.mark("task \(record.id.prefix(8)): cleaned up")
        await transition(to: .stopped) {
            $0.task.stoppedAt = Date()
            // A Spot interruption is announced as TerminationNotice and ends as SpotInterruption.
            if $0.task.stopCode == .terminationNotice { $0.task.stopCode = .spotInterruption }
            $0.clearSupervisor()
            if var attachment = $0.task.attachments?.first {
                attachment.status = "DELETED"
                $0.task.attachments = [attachment]
            }
        }
        await recordWriter.flush()
        return record
    }

    // MARK: - Recording

    private func transition(to status: TaskStatus, _ change: (inout TaskRecord) -> Void) async {
        guard let next = try? record.task.lastStatus.transition(to: status) else { return }
        record.task.lastStatus = next
        record.task.version += 1
        change(&record)
        LatencyTrace.mark("task \(record.id.prefix(8)): \(next.rawValue)")
        persist()
    }

    private func update(container name: String, _ change: (inout Container) -> Void) async {
        guard let i = record.task.containerIndex(name) else { return }
        change(&record.task.containers[i])
        if record.task.enableExecuteCommand == true { record.task.containers[i].followExecuteCommandAgent(now: Date()) }
        record.task.healthStatus = derivedHealth()
        record.task.version += 1
        persist()
    }

    /// A task's health is its essential containers' health: UNHEALTHY if any is, HEALTHY if all are.
    private func derivedHealth() -> HealthStatus {
        let essentialChecked = record.definition.containerDefinitions.filter { $0.isEssential && $0.healthCheck != nil }.compactMap(\.name)
        let statuses = essentialChecked.compactMap { n in record.task.containerIndex(n).flatMap { record.task.containers[$0].healthStatus } }
        if statuses.contains(.unhealthy) { return .unhealthy }
        if !statuses.isEmpty && statuses.count == essentialChecked.count && statuses.allSatisfy({ $0 == .healthy }) { return .healthy }
        return .unknown
    }

    private func persist() {
        recordWriter.submit(record)
    }

    static func formatDuration(_ seconds: Double) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }
}
