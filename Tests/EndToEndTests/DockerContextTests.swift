import ECSModel
import Foundation
import TestSupport
import Testing

/// `fargate-local` finds the engine as the docker CLI does, through the current docker
/// context (how Docker Desktop, colima and rootless Docker are reached). Fails (never skips)
/// without a Docker engine.
struct DockerContextTests {
    /// A docker config directory whose current context `fl-test` points at `socket`.
    func config(socket: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fl-docker-config-\(UUID().uuidString)").path
        let meta = dir + "/contexts/meta/" + String(repeating: "0f", count: 32)
        try FileManager.default.createDirectory(atPath: meta, withIntermediateDirectories: true)
        try #"{"currentContext": "fl-test"}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        try #"{"Name":"fl-test","Metadata":{},"Endpoints":{"docker":{"Host":"unix://\#(socket)","SkipTLSVerify":false}}}"#
            .write(toFile: meta + "/meta.json", atomically: true, encoding: .utf8)
        return dir
    }

    @Test func theCurrentDockerContextIsTheEngineUsed() async throws {
        try await DockerRequirement.engine()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        // The context's socket is another path to the real engine.
        let socket = cli.stateDirectory.appendingPathComponent("engine.sock").path
        try FileManager.default.createSymbolicLink(atPath: socket, withDestinationPath: "/var/run/docker.sock")
        let good = try config(socket: socket)
        let broken = try config(socket: cli.stateDirectory.appendingPathComponent("nothing.sock").path)
        defer { for d in [good, broken] { try? FileManager.default.removeItem(atPath: d) } }
        let task = "Tests/Fixtures/docker/uname.json"

        let through = try await cli.run(
            ["run", "--wait", "--runtime", "docker", task],
            environment: ["DOCKER_CONFIG": good, "DOCKER_HOST": nil, "DOCKER_CONTEXT": nil])
        #expect(through.status == 0 && through.stdout.contains("app | "), "\(through.stdout)\n\(through.stderr)")
        #expect(through.stderr.contains("starting with the docker runtime (docker context fl-test: \(socket))"), "\(through.stderr)")

        // A context whose engine does not answer: `--runtime docker` says which socket it
        // tried and why; nothing ran. DOCKER_CONTEXT=default goes back to the default socket.
        let refused = try await cli.run(
            ["run", "--wait", "--runtime", "docker", task],
            environment: ["DOCKER_CONFIG": broken, "DOCKER_HOST": nil, "DOCKER_CONTEXT": nil])
        #expect(refused.status == 125, "\(refused.stdout)\n\(refused.stderr)")
        #expect(
            refused.stderr.contains("no Docker engine answers on \(cli.stateDirectory.appendingPathComponent("nothing.sock").path) (docker context fl-test)"),
            "\(refused.stderr)")
        #expect(!refused.stdout.contains("app | "), "\(refused.stdout)")
        let byDefault = try await cli.run(
            ["run", "--wait", "--runtime", "docker", task],
            environment: ["DOCKER_CONFIG": broken, "DOCKER_HOST": nil, "DOCKER_CONTEXT": "default"])
        #expect(byDefault.status == 0 && byDefault.stdout.contains("app | "), "\(byDefault.stdout)\n\(byDefault.stderr)")
        #expect(
            byDefault.stderr.contains("starting with the docker runtime; ") || byDefault.stderr.contains("starting with the docker runtime\n"),
            "\(byDefault.stderr)")
    }
}
