import Controller
import Foundation
import Server

/// The API a `run` hosts for its own lifetime: on 127.0.0.1:8790 when that port is
/// free, else on any free port. New tasks are pointed at whichever it got.
enum InProcessAPI {
    static func start(controller: TaskController, runtime: any ContainerRuntime, imageMap: [String: String], region: String) async throws -> ControllerServer.Running {
        let host = TaskHost(controller: controller, runtime: runtime, imageMap: imageMap)
        let server = ControllerServer(host: host, controller: controller,
                                      credentials: CredentialsProvider(environment: ProcessInfo.processInfo.environment, awsEndpoint: nil, region: region))
        let running: ControllerServer.Running
        if let preferred = try? await server.start(address: "127.0.0.1", port: 8790) {
            running = preferred
        } else {
            running = try await server.start(address: "127.0.0.1", port: 0)
        }
        controller.setEndpointBaseURL("http://127.0.0.1:\(running.port)")
        return running
    }
}
