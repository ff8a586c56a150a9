import ArgumentParser
import Controller
import Foundation
import Server

/// `fargate-local serve`: the controller as a service (ECS and CloudWatch Logs APIs,
/// task metadata, container credentials).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the ECS and CloudWatch Logs APIs, task metadata and credentials on 127.0.0.1.",
        discussion: "Point `aws ecs --endpoint-url`, `aws logs --endpoint-url` or boto3's endpoint_url at it.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port: Int = 8790
    @Option(help: "Runtime for tasks started through RunTask: auto (Docker when an engine answers), docker or process.") var runtime: String = "auto"
    @Option(help: ArgumentHelp("How long stopped tasks stay listable (at least 1h).", valueName: "DURATION")) var retention: String = "1h"
    @Option(
        name: .customLong("image-map"),
        help: ArgumentHelp("In process mode, run this host executable as IMAGE's entrypoint. Repeatable.", valueName: "IMAGE=EXECUTABLE"))
    var imageMap: [String] = []
    @Option(
        name: .customLong("allow-user"),
        help: ArgumentHelp("Also answer this user's API requests (a name or uid; the user running serve and root always are). Repeatable.", valueName: "USER"))
    var allowUsers: [String] = []

    func run() async throws {
        Console.surviveClosedOutput()
        try await reportingErrors {
            guard let keep = DurationParser.seconds(retention), keep >= 3600 else {
                throw CLIError("--retention \"\(retention)\": expected a duration of at least 1h (ECS keeps stopped tasks for an hour)")
            }
            var allowed: Set<UInt32> = []
            for user in allowUsers {
                guard let uid = PeerUser.resolve(user) else { throw CLIError("--allow-user \"\(user)\": no such user on this machine") }
                allowed.insert(uid)
            }
            let controller = try global.makeController()
            let runtimeImpl = try TaskController.runtime(
                named: runtime, shim: SupervisorLauncher.executablePath(), stateDirectory: global.resolvedStateDirectory)
            var map = SupervisorLauncher.defaultImageMap()
            for entry in imageMap {
                guard let eq = entry.firstIndex(of: "=") else { throw CLIError("--image-map \"\(entry)\": expected IMAGE=EXECUTABLE") }
                map[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
            }
            let taskHost = TaskHost(controller: controller, runtime: runtimeImpl, imageMap: map, eventLog: { TaskEventLog($0) })
            let server = ControllerServer(
                host: taskHost, controller: controller,
                credentials: CredentialsProvider(
                    environment: ProcessInfo.processInfo.environment,
                    awsEndpoint: global.resolvedAWSEndpoint, region: global.resolvedRegion),
                allowedUsers: allowed)
            let running = try await server.start(address: host, port: port)
            let baseURL = Self.baseURL(host: host, port: running.port)
            controller.setEndpointBaseURL(baseURL)
            let agentListener = await InProcessAPI.attachAgentListener(server: server, runtime: runtimeImpl)
            let endpoints = ContainerEndpointListeners(server: server, serving: baseURL)
            await Self.takeOverOrphans(controller: controller, host: taskHost, endpoints: endpoints)
            if let docker = runtimeImpl as? DockerRuntime {
                // Containers of tasks that stopped while the engine could not remove them
                // (it was down): removed now, unless the task was run with --keep-containers.
                for (taskID, ids) in await docker.labelledContainers() {
                    guard let record = try? await controller.store.task(id: taskID), record.task.lastStatus == .stopped,
                        record.options.keepContainers != true
                    else { continue }
                    let removed = await docker.removeLeftovers(taskID: taskID, containers: ids)
                    if removed > 0 { Console.error("fargate-local: removed \(removed) container(s) left by stopped task \(taskID)") }
                }
            }
            Console.out(
                "fargate-local: serving ECS, CloudWatch Logs, task metadata and credentials on \(baseURL) (runtime: \(runtimeImpl.name)\((runtimeImpl as? DockerRuntime)?.engineNote.map { " on \($0)" } ?? ""), state: \(global.resolvedStateDirectory.path))"
            )
            if let warning = (runtimeImpl as? DockerRuntime)?.taskLimitsWarning { Console.error("fargate-local: warning: \(warning)") }
            if let warning = Self.exposureWarning(host: host) { Console.error("fargate-local: warning: \(warning)") }
            let stop = ShutdownSignal()
            let pruning = Task {
                while !Task.isCancelled {
                    _ = try? await controller.store.pruneStoppedTasks(olderThan: keep)
                    try? await Task.sleep(for: .seconds(60))
                }
            }
            // A task whose supervisor dies while serve runs (a `run --wait` killed, a background
            // supervisor gone) is taken over too, within a few seconds.
            let orphanWatch = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.orphanCheckInterval)
                    await Self.takeOverOrphans(controller: controller, host: taskHost, endpoints: endpoints)
                }
            }
            await stop.wait()
            pruning.cancel()
            orphanWatch.cancel()
            Console.error("fargate-local: shutting down; stopping the tasks it runs")
            for id in await taskHost.localTaskIDs {
                _ = try? await taskHost.stop(id, reason: "Task stopped by fargate-local: the controller shut down")
                _ = await taskHost.wait(id)
            }
            await agentListener?.stop()
            await endpoints.stopAll()
            await running.stop()
        }
    }
}

/// Waits for SIGINT, SIGTERM or SIGHUP (serve's terminal closed): serve then stops its tasks
/// and ends, rather than dying with them running.
final class ShutdownSignal {
    private let stream: AsyncStream<Void>
    private let sources: [any DispatchSourceSignal]

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        self.stream = stream
        sources = StopSignals.stopping.map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            return source
        }
    }

    func wait() async {
        var iterator = stream.makeAsyncIterator()
        _ = await iterator.next()
        for s in sources { s.cancel() }
    }
}

extension ServeCommand {
    /// How often a running serve looks for tasks whose supervisor has died.
    static let orphanCheckInterval = Duration.seconds(2)

    /// Takes over the tasks whose supervisor is gone, saying
    /// what became of each; process tasks keep the address their containers were given.
    static func takeOverOrphans(controller: TaskController, host: TaskHost, endpoints: ContainerEndpointListeners) async {
        guard let orphans = try? await controller.orphanedTasks() else { return }
        var adopted: [TaskRecord] = []
        for orphan in orphans {
            switch try? await host.adoptOrMarkLost(orphan) {
            case .adopted?:
                Console.error("fargate-local: re-adopted task \(orphan.id) (its \(orphan.runtimeName ?? "") containers were still there)")
                adopted.append(orphan)
            case .lost?:
                Console.error("fargate-local: task \(orphan.id) was lost when the previous controller exited; recorded as STOPPED")
            case .takenElsewhere?, nil:
                continue
            }
        }
        await endpoints.keep(for: adopted)
    }

    /// `http://HOST:PORT`, an IPv6 address in brackets (`http://[::1]:8790`), as clients and
    /// the containers' metadata variables need it.
    static func baseURL(host: String, port: Int) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }

    /// Said when `serve` listens beyond this machine, whose clients it cannot tell apart.
    static func exposureWarning(host: String) -> String? {
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        guard !loopback else { return nil }
        return
            "listening on \(host), not a loopback address: whoever reaches it from another machine can run tasks (which may mount this machine's folders) and read tasks' overrides and logs; fargate-local's API tells apart only the users of this machine"
    }
}
