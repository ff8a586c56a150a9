import ArgumentParser
import Controller
import Dispatch
import ECSModel
import Foundation
import Server

#if canImport(Glibc)
import Glibc
#endif

/// `fargate-local run`: start a task from a file or a registered family.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a task from a task definition file or a registered FAMILY[:REVISION].",
        discussion: """
            With --wait, streams every container's output as `NAME | line` and exits with the exit code \
            of the essential container that stopped the task; 124 after --timeout; 125 when the task \
            failed to start or could not be created. Without --wait, prints the task id and leaves the task \
            running under a background supervisor (see ps, logs, stop).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A task definition JSON file (- for standard input), or FAMILY[:REVISION] of a registered one.")
    var taskDefinition: String

    @Flag(help: "Stay attached: stream output and exit with the task's exit code.")
    var wait = false

    @Option(help: "auto (Docker when an engine answers, else process), docker, or process (host subprocesses).")
    var runtime: String = "auto"

    @Option(
        name: .customLong("env"),
        help: ArgumentHelp(
            "Override an environment variable in every container (NAME=VALUE) or one (CONTAINER:NAME=VALUE). Repeatable.", valueName: "[CONTAINER:]NAME=VALUE"))
    var environment: [String] = []

    @Option(
        name: .customLong("env-file"),
        help: ArgumentHelp(
            "Read NAME=VALUE lines (or CONTAINER:NAME=VALUE; blank lines and # comments ignored, as in ECS environment files) as --env entries; --env wins. Repeatable.",
            valueName: "FILE"))
    var environmentFiles: [String] = []

    @Option(
        help: ArgumentHelp(
            "RunTask's overrides, as `aws ecs run-task --overrides` takes them: JSON, or file://PATH (containerOverrides with command, environment, environmentFiles, cpu, memory; the task's cpu, memory, taskRoleArn, executionRoleArn, ephemeralStorage). --env and --env-file entries are merged in, and win.",
            valueName: "JSON|file://PATH"))
    var overrides: String?

    @Option(help: ArgumentHelp("Stop the task when it has run this long (90s, 10m, 1h).", valueName: "DURATION"))
    var timeout: String?

    @Option(help: ArgumentHelp("Write a report when the task stops: JSON, or JUnit XML when FILE ends in .xml. Repeatable.", valueName: "FILE"))
    var report: [String] = []

    @Option(
        name: .customLong("image-map"),
        help: ArgumentHelp("In process mode, run this host executable as IMAGE's entrypoint. Repeatable.", valueName: "IMAGE=EXECUTABLE"))
    var imageMap: [String] = []

    @Option(name: .customLong("started-by"), help: "The startedBy value recorded on the task.")
    var startedBy: String?

    @Option(help: "The task group (default family:FAMILY).")
    var group: String?

    @Flag(
        name: .customLong("enable-execute-command"),
        help: "As RunTask's enableExecuteCommand: the containers carry an ExecuteCommandAgent, and exec runs without ECS's warning.")
    var enableExecuteCommand = false

    @Option(name: .customLong("launch-type"), help: "FARGATE or EC2 validation rules.")
    var launchType: String = "FARGATE"

    @Option(
        name: .customLong("capacity-provider"),
        help: ArgumentHelp(
            "Place the task as RunTask's capacityProviderStrategy does: FARGATE or FARGATE_SPOT (its capacityProviderName; `stop --spot-interruption` then reclaims it as Spot does).",
            valueName: "NAME"))
    var capacityProvider: String?

    @Flag(name: .customLong("keep-containers"), help: "Docker runtime: keep the task's containers after it stops, for debugging.")
    var keepContainers = false

    @Flag(help: "Docker runtime: publish the task's portMappings on 127.0.0.1 (hostPort, else containerPort).")
    var publish = false

    @Flag(name: .shortAndLong, help: "With --wait, print only container output (no lifecycle events).")
    var quiet = false

    @Flag(
        name: .customLong("no-prefix"),
        help: "With --wait, print container lines as they were written, without the `NAME | ` prefix (e.g. to capture a one-container job's output).")
    var noPrefix = false

    func run() async throws { try await run(prefetched: nil) }

    /// Runs the command; `prefetched`: the state database, opened while the command line was parsed.
    func run(prefetched: StatePrefetch?) async throws {
        Console.surviveClosedOutput()
        try await reportingErrors {
            LatencyTrace.mark("run: command parsed")
            if let client = global.endpointClient {
                try await runThroughAPI(client)
                return
            }
            // The runtime (for Docker: the engine probed, the bridge gateway asked) is made while the state opens.
            async let madeRuntime = TaskController.makeRuntime(
                named: runtime, keepContainers: keepContainers, shim: SupervisorLauncher.executablePath(), stateDirectory: global.resolvedStateDirectory)
            let controller = try global.makeController(store: await prefetched?.store(for: global.resolvedStateDirectory))
            LatencyTrace.mark("run: state opened")
            let runtimeImpl: any ContainerRuntime
            do {
                runtimeImpl = try await madeRuntime
            } catch {
                throw CLIError("\(error)", exitCode: 125)
            }
            LatencyTrace.mark("run: runtime ready")
            // With --wait, serve the API (metadata, credentials, ECS, Logs) for this run's
            // lifetime; it starts while the definition and the task are recorded.
            let docker = runtimeImpl as? DockerRuntime
            if wait { docker?.expectAgentEndpoint() }
            let started: Task<ControllerServer.Running, any Error>? =
                wait
                ? Task {
                    do {
                        return try await InProcessAPI.start(
                            controller: controller, runtime: runtimeImpl, imageMap: imageMapOption(), region: global.resolvedRegion)
                    } catch {
                        docker?.agentEndpointFailed("the controller's API could not start: \(error)")
                        throw error
                    }
                } : nil
            // The definition is read and checked while the API starts; it is registered only
            // once the runtime is made (a run that cannot start changes nothing).
            let (source, overrides, options) = try await prepare(controller)
            let provider = try capacityProviderOption()
            LatencyTrace.mark("run: definition loaded")
            let definition = try await source.register(controller)
            LatencyTrace.mark("run: definition registered")
            func createTask() async throws -> TaskRecord {
                do {
                    let record = try await controller.createTask(definition: definition, overrides: overrides, options: options)
                    guard let provider else { return record }
                    return try await controller.store.update(record.id) { $0.task.capacityProviderName = provider }
                } catch {
                    throw CLIError("\(error)", exitCode: 125)
                }
            }
            if !wait {
                let record = try await createTask()
                let supervisor = try SupervisorLauncher.spawnDetached(taskID: record.id, global: global)
                // The supervisor from now on, before it says so itself: `stop` finds it, not this exiting process.
                _ = try? await controller.store.update(record.id) { $0.setSupervisor(supervisor) }
                Console.out(record.id)
                return
            }
            // Caught before the task names this process its supervisor (see StopSignalRouter).
            let signals = StopSignalRouter()
            let record = try await createTask()
            LatencyTrace.mark("run: task created")
            guard let started else { return }
            // Process containers are given the API's port in their environment: they wait
            // for it here. Docker containers reach it at 169.254.170.2, whatever its port: the
            // task starts meanwhile, and each container's start waits for its route.
            if docker == nil {
                _ = try await started.value
                LatencyTrace.mark("run: API listening")
            }
            defer { Task { try? await started.value.stop() } }
            var printedLimitsWarning = false
            if !quiet {
                let api = docker == nil ? "; API on \(controller.endpointBaseURL)" : ""
                Console.error(
                    "fargate-local: task \(record.id) (\(definition.family):\(definition.revision ?? 0)) starting with the \(runtimeImpl.name) runtime\(docker?.engineNote.map { " (\($0))" } ?? "")\(api)"
                )
                if let warning = docker?.taskLimitsWarning {
                    Console.error("fargate-local: warning: \(warning)")
                    printedLimitsWarning = true
                }
                if docker != nil {
                    Task {
                        if let api = try? await started.value { Console.error("fargate-local: API on http://127.0.0.1:\(api.port)") }
                    }
                }
            }
            let final = try await Supervision.run(
                record: record, controller: controller, runtime: runtimeImpl,
                console: ConsolePrinter(showEvents: !quiet, prefixed: !noPrefix), signals: signals)
            // A limit the engine refused only shows when the first container is created.
            if !quiet, !printedLimitsWarning, let warning = docker?.taskLimitsWarning {
                Console.error("fargate-local: warning: \(warning)")
            }
            LatencyTrace.mark("run: task stopped")
            try writeReports(final, logs: controller.logs)
            if final.task.stopCode == .taskFailedToStart {
                // With lifecycle events shown, the reason was just printed ("task failed to start: ...").
                Console.error(
                    quiet
                        ? "fargate-local: task failed to start: \(final.task.stoppedReason ?? "unknown reason")"
                        : "fargate-local: task \(final.id) stopped: it failed to start (exit code \(final.waitExitCode))")
            } else if !quiet {
                Console.error("fargate-local: task \(final.id) stopped: \(final.task.stoppedReason ?? "") (exit code \(final.waitExitCode))")
            }
            throw ExitCode(final.waitExitCode)
        }
    }

    /// The definition to run: read from a file (registered when the run starts) or already registered.
    private enum DefinitionSource {
        case file(LoadedTaskDefinition, TaskDefinition)
        case registered(TaskDefinition)

        var definition: TaskDefinition {
            switch self {
            case let .file(_, definition), let .registered(definition): definition
            }
        }

        func register(_ controller: TaskController) async throws -> TaskDefinition {
            switch self {
            case let .file(loaded, _): try await controller.register(loaded, reuseIdentical: true)
            case let .registered(definition): definition
            }
        }
    }

    private func prepare(_ controller: TaskController) async throws -> (DefinitionSource, TaskOverride, RunOptions) {
        guard let launch = LaunchType(rawValue: launchType.uppercased()) else {
            throw CLIError("--launch-type must be FARGATE or EC2, not \"\(launchType)\"", exitCode: 125)
        }
        let givenOverrides = try RunOverrides.parse(overrides)
        let source: DefinitionSource
        if TaskDefinitionFile.isFile(taskDefinition) {
            let loaded = TaskDefinitionFile.load(taskDefinition, launchType: launch)
            for d in loaded.diagnostics { Console.error("\(taskDefinition): \(d)") }
            if !loaded.awsCLIRefusals.isEmpty {
                Console.error(
                    "\(taskDefinition): warning: as written, `aws ecs register-task-definition --cli-input-json` refuses this file (\(loaded.awsCLIRefusals.count) parameter\(loaded.awsCLIRefusals.count == 1 ? "" : "s"); `fargate-local validate` shows what it says)"
                )
            }
            guard loaded.isValid else {
                throw CLIError(
                    "\(taskDefinition) is not a valid task definition (\(loaded.diagnostics.errors.count) error(s) above); nothing was run", exitCode: 125)
            }
            guard let definition = loaded.definition else {
                throw CLIError("\(taskDefinition) is not a valid task definition; nothing was run", exitCode: 125)
            }
            source = .file(loaded, definition)
        } else {
            guard let found = try await controller.store.taskDefinition(taskDefinition) else {
                throw CLIError(
                    "no file and no registered task definition named \"\(taskDefinition)\" (register one with `fargate-local register FILE`)", exitCode: 125)
            }
            if let status = found.status, status != "ACTIVE" {
                throw CLIError(
                    "\(found.family):\(found.revision ?? 0) is \(status) (deregistered), and ECS runs no new tasks from it (RunTask: InvalidParameterException: TaskDefinition is inactive); register it again for a new ACTIVE revision",
                    exitCode: 125)
            }
            source = .registered(found)
        }
        let environmentOverrides = try EnvironmentOverrides.parse(
            try EnvironmentOverrides.entries(fromFiles: environmentFiles) + environment, containers: source.definition.containerDefinitions.compactMap(\.name))
        let overrides = RunOverrides.merging(environmentOverrides, into: givenOverrides)
        try RunOverrides.check(overrides, against: source.definition)
        let map = try imageMapOption()
        var seconds: Double?
        if let timeout {
            guard let s = DurationParser.seconds(timeout), s > 0 else {
                throw CLIError("--timeout \"\(timeout)\": expected a duration such as 90s, 10m or 1h", exitCode: 125)
            }
            seconds = s
        }
        var options = RunOptions(runtime: runtime, imageMap: map, timeoutSeconds: seconds, startedBy: startedBy, group: group)
        options.keepContainers = keepContainers
        options.publish = publish
        if enableExecuteCommand { options.enableExecuteCommand = true }
        return (source, overrides, options)
    }

    /// `--capacity-provider`, checked: Fargate's two providers are the ones a cluster has here.
    func capacityProviderOption() throws -> String? {
        guard let capacityProvider else { return nil }
        guard ["FARGATE", "FARGATE_SPOT"].contains(capacityProvider) else {
            throw CLIError("--capacity-provider must be FARGATE or FARGATE_SPOT, not \"\(capacityProvider)\"", exitCode: 125)
        }
        return capacityProvider
    }

    /// The bundled images' executables, with `--image-map` entries over them.
    private func imageMapOption() throws -> [String: String] {
        var map: [String: String] = SupervisorLauncher.defaultImageMap()
        for entry in imageMap {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw CLIError("--image-map \"\(entry)\": expected IMAGE=EXECUTABLE", exitCode: 125)
            }
            map[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        return map
    }

    private func writeReports(_ record: TaskRecord, logs: LogStore) throws {
        let report = TaskReport(record: record, logs: logs)
        for path in self.report {
            let url = URL(fileURLWithPath: path)
            let text = path.lowercased().hasSuffix(".xml") ? report.junitXML() : report.json()
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            } catch {
                Console.error("fargate-local: cannot write report \(path): \(error.localizedDescription)")
            }
        }
    }
}

extension RunCommand {
    /// While a task run through a controller is followed, the first SIGINT or SIGTERM stops
    /// it (StopTask, as a local `run --wait` does) and following goes on until it has
    /// stopped; a second ends this command at once (exit 130), the controller finishing
    /// the stop. Returns the signal sources, to be cancelled when the task has stopped.
    static func stopOnInterrupt(client: EndpointClient, taskArn: String, quiet: Bool) -> [any DispatchSourceSignal] {
        let id = String(taskArn.split(separator: "/").last ?? "")
        return StopSignals.watch { sig, count in
            guard count == 1 else {
                Console.error("fargate-local: no longer following task \(id); the controller at \(client.endpoint) finishes stopping it")
                fflush(nil)
                _exit(130)
            }
            if !quiet { Console.error("fargate-local: interrupted: stopping task \(id) (StopTask); Ctrl-C again to stop following it") }
            let body = JSONValue.object([("task", .string(taskArn)), ("reason", .string(StopSignals.reason(for: sig)))])
            Task { _ = try? await client.ecs("StopTask", body) }
        }
    }

    /// `run` against a running controller: register (for a file), RunTask, then follow the
    /// task's logs and state through the API and exit with the same codes as a local run.
    func runThroughAPI(_ client: EndpointClient) async throws {
        if !report.isEmpty { throw CLIError("--report is not available with --endpoint; run without --endpoint to write reports", exitCode: 125) }
        if !imageMap.isEmpty { throw CLIError("--image-map is set where the controller runs (serve --image-map), not with --endpoint", exitCode: 125) }
        guard let launch = LaunchType(rawValue: launchType.uppercased()) else {
            throw CLIError("--launch-type must be FARGATE or EC2, not \"\(launchType)\"", exitCode: 125)
        }
        let givenOverrides = try RunOverrides.parse(overrides)
        var reference = taskDefinition
        var definition: TaskDefinition?
        var documentToRegister: JSONValue?
        if TaskDefinitionFile.isFile(taskDefinition) {
            let loaded = TaskDefinitionFile.load(taskDefinition, launchType: launch)
            for d in loaded.diagnostics { Console.error("\(taskDefinition): \(d)") }
            if !loaded.awsCLIRefusals.isEmpty {
                Console.error(
                    "\(taskDefinition): warning: as written, `aws ecs register-task-definition --cli-input-json` refuses this file (\(loaded.awsCLIRefusals.count) parameter\(loaded.awsCLIRefusals.count == 1 ? "" : "s"); `fargate-local validate` shows what it says)"
                )
            }
            guard loaded.isValid, let document = loaded.document else {
                throw CLIError(
                    "\(taskDefinition) is not a valid task definition (\(loaded.diagnostics.errors.count) error(s) above); nothing was run", exitCode: 125)
            }
            documentToRegister = document
            definition = loaded.definition
        } else {
            let described = try await client.ecs("DescribeTaskDefinition", .object([("taskDefinition", .string(taskDefinition))]))
            if let td = described["taskDefinition"] {
                definition = TaskDefinitionLoader.load(json: td, launchType: launch).definition
            }
        }
        let names = definition?.containerDefinitions.compactMap(\.name) ?? []
        let environmentOverrides = try EnvironmentOverrides.parse(
            try EnvironmentOverrides.entries(fromFiles: environmentFiles) + environment, containers: names)
        let overrides = RunOverrides.merging(environmentOverrides, into: givenOverrides)
        // The controller checks them too; a definition this run could not read is left to it.
        if let definition { try RunOverrides.check(overrides, against: definition) }
        var seconds: Double?
        if let timeout {
            guard let s = DurationParser.seconds(timeout), s > 0 else {
                throw CLIError("--timeout \"\(timeout)\": expected a duration such as 90s, 10m or 1h", exitCode: 125)
            }
            seconds = s
        }
        let provider = try capacityProviderOption()
        // Registered only once every option has been checked: a refused run changes nothing.
        if let documentToRegister {
            let registered = try await client.ecs("RegisterTaskDefinition", documentToRegister)
            reference = registered["taskDefinition"]?["taskDefinitionArn"]?.stringValue ?? reference
        }
        var body: [(key: String, value: JSONValue)] = [("taskDefinition", .string(reference))]
        if overrides != TaskOverride() {
            let encoded = (try? JSONEncoder().encode(overrides)).flatMap { try? JSONParser.parse(Array($0)) } ?? .object([])
            body.append(("overrides", encoded))
        }
        if let startedBy { body.append(("startedBy", .string(startedBy))) }
        if let group { body.append(("group", .string(group))) }
        if let provider {
            body.append(("capacityProviderStrategy", .array([.object([("capacityProvider", .string(provider)), ("weight", .number("1"))])])))
        } else {
            body.append(("launchType", .string("FARGATE")))
        }
        if enableExecuteCommand { body.append(("enableExecuteCommand", .bool(true))) }
        let result = try await client.ecs("RunTask", .object(body))
        guard case let .array(tasks)? = result["tasks"], let arn = tasks.first?["taskArn"]?.stringValue else {
            throw CLIError("the controller started no task: \(result.serialized())", exitCode: 125)
        }
        let id = String(arn.split(separator: "/").last ?? "")
        guard wait else {
            Console.out(id)
            return
        }
        if !quiet { Console.error("fargate-local: task \(id) started by the controller at \(client.endpoint)") }
        let interrupts = Self.stopOnInterrupt(client: client, taskArn: arn, quiet: quiet)
        defer { for source in interrupts { source.cancel() } }
        let started = Date()
        var timedOut = false
        var tokens: [String: String] = [:]
        var final: ECSTask?
        var outputClosed = false
        var poll = 10
        while true {
            let task = try await client.tasks([arn]).first
            var behind = false
            for s in try await client.logStreams(taskID: id) {
                var request: [(key: String, value: JSONValue)] = [
                    ("logGroupName", .string(s.group)), ("logStreamName", .string(s.stream)), ("startFromHead", .bool(true)),
                ]
                if let token = tokens[s.stream] { request.append(("nextToken", .string(token))) }
                let page = try await client.logs("GetLogEvents", .object(request))
                tokens[s.stream] = page["nextForwardToken"]?.stringValue
                if case let .array(events)? = page["events"] {
                    let prefix = noPrefix ? "" : "\(s.container) | "
                    let chunk = events.compactMap { $0["message"]?.stringValue }.map { "\(prefix)\($0)\n" }.joined()
                    if !chunk.isEmpty, !outputClosed, !Console.write(chunk, to: STDOUT_FILENO) {
                        outputClosed = true
                        Console.error(ConsolePrinter.outputClosedNote)
                    }
                    // A full page: the stream has more already; read on before anything else.
                    if events.count >= LogsCommand.eventsPerPage { behind = true }
                }
            }
            if let seconds, !timedOut, Date().timeIntervalSince(started) > seconds {
                timedOut = true
                _ = try await client.ecs(
                    "StopTask",
                    .object([("task", .string(arn)), ("reason", .string("Task stopped by fargate-local: it ran longer than --timeout (\(timeout ?? ""))"))]))
            }
            if behind { continue }
            // Stopped before its streams were read to their end: every line has been printed.
            if task?.lastStatus == .stopped {
                final = task
                break
            }
            // Short tasks are seen to stop soon after they do; long ones are polled 4 times a second.
            try await Task.sleep(for: .milliseconds(poll))
            poll = min(250, poll * 2)
        }
        guard let final else { throw ExitCode(1) }
        if final.stopCode == .taskFailedToStart {
            Console.error("fargate-local: task failed to start: \(final.stoppedReason ?? "unknown reason")")
            throw ExitCode(125)
        }
        if timedOut { throw ExitCode(124) }
        let code = TaskWaiting.exitCode(of: final, essentials: Set(definition?.containerDefinitions.filter(\.isEssential).compactMap(\.name) ?? names))
        if !quiet { Console.error("fargate-local: task \(id) stopped: \(final.stoppedReason ?? "") (exit code \(code))") }
        throw ExitCode(Int32(truncatingIfNeeded: code))
    }
}
