import Controller
import Foundation
import Server

/// The API a `run` hosts for its own lifetime: on 127.0.0.1:8790 when that port is
/// free, else on any free port. New tasks are pointed at whichever it got.
enum InProcessAPI {
    static func start(controller: TaskController, runtime: any ContainerRuntime, imageMap: [String: String], region: String) async throws
        -> ControllerServer.Running
    {
        let host = TaskHost(controller: controller, runtime: runtime, imageMap: imageMap)
        let server = ControllerServer(
            host: host, controller: controller,
            credentials: CredentialsProvider(
                environment: ProcessInfo.processInfo.environment, awsEndpoint: controller.configuration.awsEndpoint, region: region))
        // The bridge listener for containers starts beside the one on 127.0.0.1.
        async let agent = attachAgentListener(server: server, runtime: runtime)
        let running: ControllerServer.Running
        if let preferred = try? await server.start(address: "127.0.0.1", port: 8790) {
            running = preferred
        } else {
            running = try await server.start(address: "127.0.0.1", port: 0)
        }
        controller.setEndpointBaseURL("http://127.0.0.1:\(running.port)")
        _ = await agent
        return running
    }

    /// For the Docker runtime: a second listener on the Docker bridge's gateway, where each
    /// task's 169.254.170.2:80 is routed (containers cannot reach the host's 127.0.0.1). It
    /// serves what the ECS agent serves there (metadata, credentials, the agent's endpoints),
    /// not the ECS and Logs APIs: every container on the bridge can reach it.
    @discardableResult
    static func attachAgentListener(server: ControllerServer, runtime: any ContainerRuntime) async -> ControllerServer.Running? {
        guard let docker = runtime as? DockerRuntime else { return nil }
        guard let gateway = await docker.bridgeGateway(), let listener = try? await server.start(address: gateway, port: 0, surface: .taskEndpoints) else {
            docker.agentEndpointUnavailable()
            return nil
        }
        docker.setAgentEndpoint(host: gateway, port: listener.port)
        return listener
    }
}

/// For re-adopted process tasks whose containers were told another address for their
/// metadata and credentials (their controller listened elsewhere, and their environment
/// cannot change): a listener there too, serving only what a task reaches (not the ECS and
/// Logs APIs), one per address. Says what it did, or that an address is taken and those
/// tasks have no endpoints until they stop.
actor ContainerEndpointListeners {
    private let server: ControllerServer
    private let serving: String
    private var listeners: [String: ControllerServer.Running] = [:]

    init(server: ControllerServer, serving: String) {
        self.server = server
        self.serving = serving
    }

    func keep(for adopted: [TaskRecord]) async {
        var tasksByEndpoint: [String: [String]] = [:]
        for record in adopted {
            guard let endpoint = record.containerEndpoint, endpoint != serving else { continue }
            tasksByEndpoint[endpoint, default: []].append(record.id)
        }
        for (endpoint, ids) in tasksByEndpoint.sorted(by: { $0.key < $1.key }) where listeners[endpoint] == nil {
            let tasks = "task\(ids.count == 1 ? "" : "s") \(ids.joined(separator: ", "))"
            guard let url = URLComponents(string: endpoint), let host = url.host, let port = url.port,
                let listener = try? await server.start(address: host, port: port, surface: .taskEndpoints)
            else {
                Console.error(
                    "fargate-local: warning: the containers of \(tasks) reach their metadata and credentials at \(endpoint), which cannot be listened on now (in use?): they have no such endpoints until they stop"
                )
                continue
            }
            listeners[endpoint] = listener
            Console.error("fargate-local: serving task metadata and credentials on \(endpoint) too, for the containers of re-adopted \(tasks)")
        }
    }

    func stopAll() async {
        for listener in listeners.values { await listener.stop() }
    }
}
