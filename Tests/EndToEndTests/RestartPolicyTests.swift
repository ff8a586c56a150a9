import ECSModel
import Foundation
import TestSupport
import Testing

/// ECS's container restart policy, in both runtimes at once (it takes a minute: a container
/// must run for restartAttemptPeriod, at least 60 s, before it may be restarted).
struct RestartPolicyTests {
    @Test func aContainerThatRanLongEnoughIsRestartedOthersStop() async throws {
        try await DockerRuntimeTests().requireDocker()
        let process = CLIHarness()
        let docker = CLIHarness()
        defer {
            process.cleanup()
            docker.cleanup()
        }
        try FileManager.default.createDirectory(at: process.stateDirectory, withIntermediateDirectories: true)
        let counter = process.stateDirectory.appendingPathComponent("runs").path
        async let byProcess = process.run([
            "run", "--wait", "--runtime", "process", "--env", "app:COUNTER=\(counter)",
            "--report", process.stateDirectory.appendingPathComponent("report.json").path,
            "Tests/Fixtures/run/restart-policy.json",
        ])
        // Docker restarts the same container: its counter lives in the container's own filesystem.
        async let byDocker = docker.run(["run", "--wait", "--runtime", "docker", "Tests/Fixtures/run/restart-policy.json"])
        for (runtime, r) in [("process", try await byProcess), ("docker", try await byDocker)] {
            // Run 1 lasted 63 s and exited 3: restarted. Run 2 exited 4 at once: too soon to
            // restart, so the essential container's exit stops the task with code 4.
            #expect(r.status == 4, "\(runtime): \(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.components(separatedBy: "app | run 1\n").count == 2, "\(runtime): \(r.stdout)")
            #expect(r.stdout.components(separatedBy: "app | run 2\n").count == 2, "\(runtime): \(r.stdout)")
            #expect(!r.stdout.contains("app | run 3"))
            #expect(r.stderr.contains("container app exited with code 3; restarting it (restartPolicy, restart 1)"), "\(runtime): \(r.stderr)")
            // Exit code 5 (after 61 s, before the task stops) is ignored by its policy: the
            // non-essential quitter is not restarted.
            #expect(r.stderr.contains("container quitter exited with code 5"), "\(runtime): \(r.stderr)")
            #expect(!r.stderr.contains("container quitter exited with code 5; restarting"))
            #expect(r.stdout.components(separatedBy: "quitter | quitter up").count == 2, "\(runtime): \(r.stdout)")
        }
        let report = try JSONParser.parse(Array(try Data(contentsOf: process.stateDirectory.appendingPathComponent("report.json"))))
        #expect(report.serialized().contains("\"exitCode\":4"), "\(report.serialized())")
    }

    /// A container re-adopted by a restarted controller keeps its restart policy: the new
    /// controller restarts it (Docker: the same container; process: its launch made again,
    /// with the RunTask override). These run alongside the test above.
    @Test func aReadoptedDockerContainerIsRestartedByTheNewController() async throws {
        try await readoptedContainerIsRestarted(runtime: "docker")
    }

    @Test func aReadoptedProcessContainerIsRestartedByTheNewController() async throws {
        try await readoptedContainerIsRestarted(runtime: "process")
    }

    func readoptedContainerIsRestarted(runtime: String) async throws {
        try await DockerRuntimeTests().requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let port = LocalServers.freePort()
        let endpoint = "http://127.0.0.1:\(port)"
        let aws = DockerReadoptionTests()
        try await cli.startBackgroundServe(port: port, runtime: runtime)
        do {
            _ = try await aws.aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/restart-policy.json"])
            let counter = cli.stateDirectory.appendingPathComponent("runs").path
            let overrides = #"{"containerOverrides":[{"name":"app","environment":[{"name":"COUNTER","value":"\#(counter)"}]}]}"#
            let run = try await aws.aws(
                endpoint, ["ecs", "run-task", "--task-definition", "restart-policy"] + (runtime == "process" ? ["--overrides", overrides] : []))
            let taskArn = try #require(run.stdout.split(separator: "\"").first { $0.contains(":task/default/") }.map(String.init), "\(run.stdout)\(run.stderr)")
            _ = try await aws.aws(endpoint, ["ecs", "wait", "tasks-running", "--tasks", taskArn])
            try await Task.sleep(for: .seconds(2))
            try await cli.killBackgroundServe()
            try await Task.sleep(for: .seconds(1))
            try await cli.startBackgroundServe(port: port, runtime: runtime)
            _ = try await aws.aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", taskArn])
            let id = String(taskArn.split(separator: "/").last ?? "")
            let final = try JSONParser.parse(try await aws.aws(endpoint, ["ecs", "describe-tasks", "--tasks", taskArn]).stdout)
            #expect(final.serialized().contains("\"exitCode\":4"), "\(runtime): run 2 exited 4: \(final.serialized())")
            let events = try JSONParser.parse(
                try await aws.aws(
                    endpoint,
                    [
                        "logs", "get-log-events", "--log-group-name", "/fargate-local/restart-policy",
                        "--log-stream-name", "app/\(id)", "--start-from-head",
                    ]
                ).stdout)
            guard case let .array(list)? = events["events"] else {
                Issue.record("no events")
                return
            }
            #expect(list.compactMap { $0["message"]?.stringValue } == ["run 1", "run 2"], "\(runtime)")
            let log = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("serve.out"), encoding: .utf8)) ?? ""
            #expect(
                log.contains("re-adopted task \(id)") && log.contains("container app exited with code 3; restarting it (restartPolicy, restart 1)"),
                "\(runtime): \(log)")
        } catch {
            try? await cli.killBackgroundServe()
            throw error
        }
        try await cli.killBackgroundServe()
    }
}
