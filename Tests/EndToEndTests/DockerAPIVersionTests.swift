import ECSModel
import Foundation
import TestSupport
import Testing

/// An engine that refuses API 1.41 as too old (Docker 29 accepts 1.44 and up) is spoken to
/// in the version it names. Here that engine is `newer_engine_proxy.py` in front of this
/// machine's Docker 20.10: it refuses versions below 1.44 with Docker 29's message, and
/// forwards 1.44 requests, a container's MAC address taken from its network endpoint (where
/// 1.44 puts it). Fails (never skips) without a Docker engine.
struct DockerAPIVersionTests {
    @Test func anEngineThatRefuses1_41IsSpokenToInItsMinimum() async throws {
        try await DockerRequirement.engine()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let socket = cli.stateDirectory.appendingPathComponent("engine29.sock").path
        let log = cli.stateDirectory.appendingPathComponent("proxy.log").path
        let proxy = CLIHarness.repository.appendingPathComponent("Tests/Fixtures/docker/newer_engine_proxy.py").path
        let started = try await Command.run("/bin/sh", ["-c", "python3 \"$0\" \"$1\" \"$2\" >/dev/null 2>&1 & echo $!", proxy, socket, log])
        let pid = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = kill(pid_t(pid) ?? 0, SIGKILL) }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(50)) }
        let env: [String: String?] = ["DOCKER_HOST": "unix://\(socket)"]

        // One container (its own network namespace, its MAC for the 169.254.170.2 route) and
        // two (the pause container's): the endpoints answer, and the containers talk.
        let single = try await cli.run(["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/endpoints.json"], environment: env)
        #expect(single.status == 0, "\(single.stdout)\n\(single.stderr)")
        #expect(single.stdout.contains("c | {\"Cluster\":\"arn:aws:ecs:us-east-1:000000000000:cluster/default\""), "\(single.stdout)")
        #expect(single.stdout.contains("c | {\"AccessKeyId\":\"AKIAFARGATELOCAL0000\""), "\(single.stdout)")
        #expect(single.stderr.contains("starting with the docker runtime (DOCKER_HOST: \(socket), API 1.44)"), "\(single.stderr)")
        let pair = try await cli.run(["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/shared-netns.json"], environment: env)
        #expect(pair.status == 0 && pair.stdout.contains("client | pong from server"), "\(pair.stdout)\n\(pair.stderr)")

        let seen = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let lines = seen.split(separator: "\n")
        // Each run's engine was refused once, then spoke 1.44: its containers were created,
        // none with the MAC in its config.
        #expect(lines.filter { $0.hasPrefix("refused /v1.41/networks/bridge") }.count == 2, "\(seen)")
        #expect(lines.filter { $0.hasPrefix("forwarded POST /v1.41/containers/create") }.count == 4, "\(seen)")
        #expect(!lines.contains { $0.hasPrefix("config-mac") }, "\(seen)")
    }
}
