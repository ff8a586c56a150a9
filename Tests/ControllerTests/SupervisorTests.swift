import Controller
import ECSModel
import Foundation
import Testing

/// The supervisor against real subprocesses: ordering, stops, exit codes, failures.
@Suite(.serialized)
struct SupervisorTests {
    @Test func containerOrderingFollowsDependsOn() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(file: "taskdefs/container-ordering.json")
        let (record, console) = try await f.run(td)
        let log = await console.entries
        func at(_ s: String) throws -> Int { try #require(log.firstIndex { $0.contains(s) }, "\(s) not reported: \(log)") }

        #expect(record.task.lastStatus == .stopped)
        #expect(record.task.desiredStatus == "STOPPED")
        #expect(record.task.stopCode == .essentialContainerExited)
        #expect(record.task.stoppedReason == "Essential container in task exited")
        #expect(record.stoppingContainer == "app")
        #expect(record.waitExitCode == 0)
        #expect(record.container("seed-check")?.exitCode == 4)
        #expect(record.container("migrate")?.exitCode == 0)
        #expect(record.container("db")?.healthStatus == .healthy)
        #expect(record.task.containers.allSatisfy { $0.lastStatus == .stopped })

        // SUCCESS and COMPLETE wait for init to exit.
        #expect(try at("container init exited") < at("container migrate started"))
        #expect(try at("container init exited") < at("container seed-check started"))
        // START waits for db to start; HEALTHY waits for its health check.
        #expect(try at("container db started") < at("container sidecar started"))
        #expect(try at("container db is HEALTHY") < at("container app started"))
        #expect(try at("container migrate exited") < at("container app started"))
        #expect(try at("container seed-check exited") < at("container app started"))
        // Shutdown runs in reverse dependency order: sidecar (depends on db) stops first.
        #expect(try at("sidecar | sidecar: got SIGTERM") < at("db | db: got SIGTERM"))
        #expect(try at("container sidecar exited") < at("container db exited"))
        // Timestamps were all recorded.
        let t = record.task
        for d in [t.createdAt, t.pullStartedAt, t.pullStoppedAt, t.startedAt, t.stoppingAt, t.stoppedAt, t.executionStoppedAt] {
            #expect(d != nil)
        }
        #expect(try #require(t.startedAt) <= #require(t.stoppingAt))
        #expect(try #require(t.stoppingAt) <= #require(t.executionStoppedAt))
        #expect(try #require(t.executionStoppedAt) <= #require(t.stoppedAt))
    }

    @Test func essentialExitStopsSiblingsWithSigtermThenSigkill() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(file: "Tests/Fixtures/run/essential-exit.json")
        let (record, console) = try await f.run(td)
        #expect(record.task.stopCode == .essentialContainerExited)
        #expect(record.waitExitCode == 3)
        #expect(record.container("main")?.exitCode == 3)
        #expect(record.container("polite")?.exitCode == 0)
        #expect(record.container("stubborn")?.exitCode == 137)
        #expect(await console.position("polite | polite: got SIGTERM") != nil)
        #expect(await console.position("stubborn | stubborn: ignoring SIGTERM") != nil)
    }

    @Test func timeoutStopsARunawayTask() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(file: "Tests/Fixtures/run/long-running.json")
        let (record, console) = try await f.run(td, options: RunOptions(timeoutSeconds: 0.5))
        #expect(record.waitExitCode == 124)
        #expect(record.task.stoppedReason?.contains("--timeout") == true)
        #expect(record.container("worker")?.exitCode == 143)
        #expect(await console.position("worker | worker: got SIGTERM") != nil)
    }

    @Test func requestedStopIsUserInitiated() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(file: "Tests/Fixtures/run/long-running.json")
        let record = try await f.controller.createTask(definition: td, overrides: TaskOverride(), options: RunOptions())
        let console = RecordingConsole()
        let supervisor = f.controller.supervisor(for: record, runtime: ProcessRuntime(), console: console)
        async let final = supervisor.run()
        while await console.position("worker: started") == nil { try await Task.sleep(for: .milliseconds(20)) }
        supervisor.requestStop(reason: String(repeating: "r", count: 300))
        let stopped = await final
        #expect(stopped.task.stopCode == .userInitiated)
        #expect(stopped.task.stoppedReason?.count == 255)
        #expect(stopped.container("worker")?.exitCode == 143)
        let persisted = try #require(try await f.controller.store.task(id: stopped.id))
        #expect(persisted.task.lastStatus == .stopped)
        #expect(persisted.task.stopCode == stopped.task.stopCode)
        #expect(persisted.task.stoppedReason == stopped.task.stoppedReason)
        #expect(persisted.task.containers.map(\.exitCode) == [143])
        #expect(persisted.task.version == stopped.task.version)
    }

    @Test func dependencyThatCanNeverHoldFailsTheTaskAtStart() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(file: "Tests/Fixtures/run/never-succeeds.json")
        let (record, _) = try await f.run(td)
        #expect(record.task.stopCode == .taskFailedToStart)
        #expect(record.waitExitCode == 125)
        let reason = try #require(record.task.stoppedReason)
        #expect(reason.hasPrefix("CannotStartContainerError:"))
        #expect(reason.contains("\"app\"") && reason.contains("\"init\"") && reason.contains("SUCCESS"))
        #expect(record.container("app")?.exitCode == nil)
        #expect(record.container("app")?.lastStatus == .stopped)
        #expect(record.task.startedAt == nil)
    }

    @Test func unhealthyDependencyFailsTheTask() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(
            """
            {"family": "unhealthy", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "db", "image": "x", "essential": false, "command": ["sh", "-c", "while true; do sleep 0.1; done"],
               "healthCheck": {"command": ["CMD", "false"], "interval": 5, "retries": 1, "timeout": 2}},
              {"name": "app", "image": "x", "command": ["true"], "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}]}
            """)
        let (record, _) = try await f.run(td)
        #expect(record.task.stopCode == .taskFailedToStart)
        #expect(record.task.stoppedReason?.contains("UNHEALTHY") == true)
        #expect(record.container("db")?.healthStatus == .unhealthy)
        #expect(record.container("db")?.exitCode == 143)
    }

    @Test func missingCommandIsCannotStartContainerError() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(file: "Tests/Fixtures/run/no-command.json")
        let (record, _) = try await f.run(td)
        #expect(record.task.stopCode == .taskFailedToStart)
        #expect(record.task.stoppedReason?.hasPrefix("CannotStartContainerError:") == true)
        #expect(record.task.stoppedReason?.contains("--image-map") == true)

        let missing = try await f.register(
            """
            {"family": "missing-exe", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "x", "command": ["no-such-binary-here"]}]}
            """)
        let (r2, _) = try await f.run(missing)
        #expect(r2.task.stoppedReason?.contains("\"no-such-binary-here\" was not found") == true)
    }

    @Test func imageMapSuppliesTheEntrypoint() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(
            """
            {"family": "mapped", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "example/echo:2", "command": ["mapped", "args"]}]}
            """)
        let (record, console) = try await f.run(td, options: RunOptions(imageMap: ["example/echo": "/bin/echo"]))
        #expect(record.waitExitCode == 0)
        #expect(await console.position("app | mapped args") != nil)
    }

    @Test func environmentFollowsEcsPrecedence() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(
            """
            {"family": "env", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "a", "image": "x", "command": ["sh", "-c", "echo R=$AWS_REGION D=$AWS_DEFAULT_REGION X=$AWS_EXECUTION_ENV M=${ECS_CONTAINER_METADATA_URI_V4:+set} V=$V W=$W P=${PATH:+set}"],
               "environment": [{"name": "V", "value": "from-definition"}, {"name": "W", "value": "kept"}],
               "dependsOn": [{"containerName": "b", "condition": "COMPLETE"}]},
              {"name": "b", "image": "x", "essential": false, "command": ["sh", "-c", "echo V=$V"]}]}
            """)
        let overrides = TaskOverride(containerOverrides: [ContainerOverride(name: "a", environment: [KeyValuePair(name: "V", value: "from-override")])])
        let (record, console) = try await f.run(td, overrides: overrides)
        #expect(record.waitExitCode == 0)
        let log = await console.entries
        #expect(log.contains("a | R=eu-west-1 D=eu-west-1 X=AWS_ECS_FARGATE M=set V=from-override W=kept P=set"), "\(log)")
        #expect(await console.position("b | V=") != nil)
        #expect(record.task.overrides == overrides)
    }

    @Test func workingDirectoryIsHonoured() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(
            """
            {"family": "wd", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "a", "image": "x", "workingDirectory": "/usr/share", "command": ["pwd"]}]}
            """)
        let (_, console) = try await f.run(td)
        #expect(await console.position("a | /usr/share") != nil)
    }

    @Test func heavyOutputKeepsEveryLineInOrder() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let lines = 200_000
        let td = try await f.register(
            """
            {"family": "chatty", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "a", "image": "x", "command": ["seq", "1", "\(lines)"]},
              {"name": "b", "image": "x", "essential": false, "command": ["sh", "-c", "seq 1 \(lines) >&2"]}]}
            """)
        let record = try await f.controller.createTask(definition: td, overrides: TaskOverride(), options: RunOptions())
        let final = await f.controller.supervisor(for: record, runtime: ProcessRuntime(), console: nil).run()
        #expect(final.waitExitCode == 0)
        for name in ["a"] {
            let stream = try #require(final.logStreams[name])
            let events = f.controller.logs.events(of: stream)
            #expect(events.count == lines)
            #expect(events.map(\.message) == (1...lines).map(String.init))
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp })
        }
    }

    @Test func efsVolumeIsSharedAcrossTasksAndScratchIsRemoved() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let mount = "/tmp/fl-test-mnt-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: mount) }
        let writer = try await f.register(
            """
            {"family": "efs-writer", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1234", "rootDirectory": "/exports"}}, {"name": "scratch"}],
             "containerDefinitions": [{"name": "w", "image": "x",
               "command": ["sh", "-c", "echo shared > \(mount)/efs/note && echo tmp > \(mount)/scratch/t && cat \(mount)/efs/note"],
               "mountPoints": [{"sourceVolume": "efs", "containerPath": "\(mount)/efs"}, {"sourceVolume": "scratch", "containerPath": "\(mount)/scratch"}]}]}
            """)
        let (first, console) = try await f.run(writer)
        guard geteuid() == 0 else {
            // Without root there is no private mount namespace: the task fails clearly instead.
            #expect(first.task.stopCode == .taskFailedToStart)
            #expect(first.task.stoppedReason?.hasPrefix("ResourceInitializationError:") == true)
            #expect(first.task.stoppedReason?.contains("\(mount)/efs") == true)
            return
        }
        let firstLog = await console.entries
        #expect(first.waitExitCode == 0, "\(firstLog)")
        let hostFile = f.directory.appendingPathComponent("efs/fs-1234/exports/note")
        #expect((try? String(contentsOf: hostFile, encoding: .utf8)) == "shared\n")
        #expect(!FileManager.default.fileExists(atPath: f.directory.appendingPathComponent("tasks/\(first.id)").path))
        // The host's own path is untouched: the bind mount lived in the task's namespace only.
        #expect(!FileManager.default.fileExists(atPath: "\(mount)/efs/note"))

        let reader = try await f.register(
            """
            {"family": "efs-reader", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1234", "rootDirectory": "/exports"}}],
             "containerDefinitions": [{"name": "r", "image": "x", "command": ["cat", "\(mount)/efs/note"],
               "mountPoints": [{"sourceVolume": "efs", "containerPath": "\(mount)/efs", "readOnly": true}]}]}
            """)
        let (second, console2) = try await f.run(reader)
        #expect(second.waitExitCode == 0)
        #expect(await console2.position("r | shared") != nil)
    }
}
