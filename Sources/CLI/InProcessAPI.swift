import Controller
import Foundation
import Server

/// The API a `run` hosts for its own lifetime: on 127.0.0.1:8790 when that port is
/// free, else on any free port. New tasks are pointed at whichever it got.
enum InProcessAPI {
    static func start(controller: TaskController, runtime: any ContainerRuntime, imageMap: [String: String], region: String) async throws -> ControllerServer.Running {
        let host = TaskHost(controller: controller, runtime: runtime, imageMap: imageMap)
        let server = ControllerServer(host: host, controller: controller,
                                      credentials: CredentialsProvider(environment: ProcessInfo.processInfo.environment, awsEndpoint: controller.configuration.awsEndpoint, region: region))
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
