import Controller
import Foundation
import TestSupport
import Testing

/// `run` starts a Docker task while its API comes up: a container's start waits for the
/// endpoint its 169.254.170.2 route points at. Needs a Docker engine (fails without one:
/// the README's test command and CI start it).
@Suite(.serialized)
struct DockerAgentGateTests {
    struct Discard: ContainerOutputSink {
        func receive(_ batch: OutputBatch) async {}
    }

    func launch(_ taskID: String) -> ContainerLaunch {
        var launch = ContainerLaunch(
            taskID: taskID, containerName: "c", arguments: ["true"], environment: [],
            workingDirectory: nil, mounts: [])
        launch.image = "debian:bookworm-slim"
        launch.command = ["true"]
        launch.labels = ["dev.fargate-local.task-id": taskID]
        return launch
    }

    func containers(of taskID: String) async throws -> [String] {
        let out = try await Command.run("docker", ["ps", "-aq", "--filter", "label=dev.fargate-local.task-id=\(taskID)"])
        return out.stdout.split(separator: "\n").map(String.init)
    }

    @Test func aContainerFailsToStartWhenTheAPIDidNotAndLeavesNothing() async throws {
        let runtime = try DockerRuntime()
        let taskID = "gate" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(28)
        runtime.expectAgentEndpoint()
        runtime.agentEndpointFailed("the controller's API could not start: test")
        await #expect {
            _ = try await runtime.start(launch(taskID), output: Discard())
        } throws: { error in
            let e = error as? ContainerStartError
            return e?.kind == "ResourceInitializationError" && e?.detail.contains("API could not start") == true
        }
        await runtime.cleanUp(taskID: taskID)
        #expect(try await containers(of: taskID).isEmpty, "the container created before the failure must be removed")
    }

    @Test func aContainerStartsOnceTheEndpointIsKnown() async throws {
        let runtime = try DockerRuntime()
        let taskID = "gate" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(28)
        runtime.expectAgentEndpoint()
        let started = Task { try await runtime.start(launch(taskID), output: Discard()) }
        runtime.agentEndpointUnavailable()
        let container = try await started.value
        let exit = await container.exit()
        #expect(exit.exitCode == 0)
        await runtime.cleanUp(taskID: taskID)
        #expect(try await containers(of: taskID).isEmpty)
    }
}
