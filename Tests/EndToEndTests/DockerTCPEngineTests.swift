import ECSModel
import Foundation
import TestSupport
import Testing

/// An engine on a plain TCP port of this machine (`DOCKER_HOST=tcp://127.0.0.1:PORT`, as
/// `dockerd -H tcp://127.0.0.1:2375` gives one) is spoken to as the unix socket is. Here the
/// port is `tcp_engine_forwarder.py`, which passes each connection's bytes to this
/// machine's Docker engine. Fails (never skips) without a Docker engine.
struct DockerTCPEngineTests {
    /// Runs `body` with `tcp_engine_forwarder.py` on a free port (its log in the state
    /// directory), the first request it passes on held `delaySeconds`; gives the port and the log.
    func withForwarder(_ cli: CLIHarness, delaySeconds: Int? = nil, _ body: (Int, String) async throws -> Void) async throws {
        try await DockerRequirement.engine()
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let log = cli.stateDirectory.appendingPathComponent("forwarder.log").path
        let forwarder = CLIHarness.repository.appendingPathComponent("Tests/Fixtures/docker/tcp_engine_forwarder.py").path
        let port = LocalServers.freePort()
        try await LocalServers.withServer("/usr/bin/python3", [forwarder, String(port), log] + (delaySeconds.map { [String($0)] } ?? []), port: port) {
            try await body(port, log)
        }
    }

    @Test func aTaskRunsOnAnEngineReachedOverTCP() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withForwarder(cli) { port, log in try await runTasks(cli, port: port, log: log) }
    }

    /// A busy engine (it accepts the connection, and answers its first request 4 s later)
    /// is waited for when the Docker runtime is asked for; one that refuses the connection
    /// fails at once, and the error names why.
    @Test func aForcedDockerRuntimeWaitsForABusyEngine() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withForwarder(cli, delaySeconds: 4) { port, _ in
            let ran = try await cli.run(
                ["run", "--wait", "-q", "--runtime", "docker", "Tests/Fixtures/docker/uname.json"],
                environment: ["DOCKER_HOST": "tcp://127.0.0.1:\(port)"])
            #expect(ran.status == 0 && ran.stdout == "app | x86_64\n", "\(ran.stdout)\n\(ran.stderr)")
        }
        let closed = LocalServers.freePort()
        let refused = try await cli.run(
            ["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/uname.json"],
            environment: ["DOCKER_HOST": "tcp://127.0.0.1:\(closed)"])
        #expect(
            refused.status == 125 && refused.stderr.contains("no Docker engine answers on tcp://127.0.0.1:\(closed) (DOCKER_HOST): ")
                && refused.stderr.contains("could not connect"), "\(refused.stderr)")
    }

    func runTasks(_ cli: CLIHarness, port: Int, log: String) async throws {
        let env: [String: String?] = ["DOCKER_HOST": "tcp://127.0.0.1:\(port)"]

        // A task's containers, their logs and the endpoints they call, all through the port.
        let single = try await cli.run(["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/endpoints.json"], environment: env)
        #expect(single.status == 0, "\(single.stdout)\n\(single.stderr)")
        #expect(single.stderr.contains("starting with the docker runtime (DOCKER_HOST: tcp://127.0.0.1:\(port))"), "\(single.stderr)")
        #expect(single.stdout.contains("c | {\"Cluster\":\"arn:aws:ecs:us-east-1:000000000000:cluster/default\""), "\(single.stdout)")
        let pair = try await cli.run(["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/shared-netns.json"], environment: env)
        #expect(pair.status == 0 && pair.stdout.contains("client | pong from server"), "\(pair.stdout)\n\(pair.stderr)")

        // A detached task (its supervisor on the same engine), and exec with stdin: the
        // hijacked connection carries both directions.
        let detached = try await cli.run(["run", "--runtime", "docker", "Tests/Fixtures/docker/ticker.json"], environment: env)
        let id = detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(detached.status == 0 && id.count == 32, "\(detached.stdout)\n\(detached.stderr)")
        for _ in 0..<100 where !(try await cli.run(["logs", id])).stdout.contains("tick 2") {
            try await Task.sleep(for: .milliseconds(100))
        }
        let piped = try await Command.run(
            "/bin/sh",
            [
                "-c", "printf 'one\\ntwo\\n' | \"$0\" exec --state-dir \"$1\" \"$2\" -- sh -c 'wc -l; exit 5'",
                CLIHarness.binary, cli.stateDirectory.path, id,
            ],
            environment: ["DOCKER_HOST": "tcp://127.0.0.1:\(port)"])
        #expect(piped.status == 5 && piped.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(piped.stdout)\n\(piped.stderr)")
        let stop = try await cli.run(["stop", id, "--wait"], environment: env)
        #expect(stop.status == 0, "\(stop.stderr)")
        let logs = try await cli.run(["logs", id])
        #expect(logs.stdout.contains("got SIGTERM"), "\(logs.stdout)")

        let connections = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count
        #expect(connections > 10, "the engine was reached through the port: \(connections) connections")
        // An engine elsewhere is refused before anything runs.
        let remote = try await cli.run(
            ["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/endpoints.json"], environment: ["DOCKER_HOST": "tcp://10.0.0.5:2375"])
        #expect(remote.status == 125 && remote.stderr.contains("DOCKER_HOST=tcp://10.0.0.5:2375 is on another machine"), "\(remote.stderr)")
    }
}
