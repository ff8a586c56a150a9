import ECSModel
import Foundation
import TestSupport
import Testing

/// `fargate-local run` and the task commands, driving the real binary and real subprocesses.
@Suite(.serialized)
struct RunCommandTests {
    @Test func orderedTaskStreamsPrefixedLinesInEcsOrder() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "--runtime", "process", "taskdefs/container-ordering.json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.lines
        func at(_ s: String) throws -> Int { try #require(lines.firstIndex(of: s), "missing \(s) in \(r.stdout)") }
        #expect(try at("init | init: preparing") < at("migrate | migrate: schema up to date"))
        #expect(try at("db | db: ready") < at("app | app: all dependencies met, working"))
        #expect(try at("migrate | migrate: schema up to date") < at("app | app: all dependencies met, working"))
        #expect(try at("app | app: done") < at("sidecar | sidecar: got SIGTERM"))
        #expect(try at("sidecar | sidecar: got SIGTERM") < at("db | db: got SIGTERM"))
        // Every stdout line is a prefixed container line.
        for line in lines where !line.isEmpty {
            #expect(["init", "migrate", "seed-check", "db", "sidecar", "app"].contains { line.hasPrefix("\($0) | ") }, "\(line)")
        }
        #expect(r.stderr.contains("container seed-check exited with code 4"))
    }

    /// Process containers run under the small fargate-local-shim built beside fargate-local;
    /// a fargate-local without it (copied alone) falls back to its own `shim` subcommand.
    @Test func containersRunUnderTheShimOrTheShimSubcommand() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "Tests/Fixtures/run/shim-parent.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains("c | parent: \(URL(fileURLWithPath: CLIHarness.binary).deletingLastPathComponent().path)/fargate-local-shim /"), "\(r.stdout)")

        let alone = CLIHarness.repository.appendingPathComponent(".build/shimless-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: alone, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: alone) }
        let binary = alone.appendingPathComponent("fargate-local").path
        #expect(link(CLIHarness.binary, binary) == 0)
        let fallback = try await Command.run(
            binary, ["run", "--wait", "--runtime", "process", "--state-dir", cli.stateDirectory.path, "Tests/Fixtures/run/shim-parent.json"],
            workingDirectory: CLIHarness.repository.path)
        #expect(fallback.status == 0, "\(fallback.stderr)")
        #expect(fallback.stdout.contains("c | parent: \(binary) shim /"), "\(fallback.stdout)")
    }

    /// A shim killed under a running controller: the controller learns at once (the shim's
    /// notification pipe ends), records exit 255 with why, and stops the orphaned container.
    @Test func aKilledShimStopsItsContainerWithAReason() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let script = """
            "$0" run --wait --runtime process --state-dir "$1" --report "$1/r.json" Tests/Fixtures/run/sleeper.json > "$1/out" 2>&1 & pid=$!
            for i in $(seq 1 200); do shim=$(pgrep -f "fargate-local-shim $1/") && break; sleep 0.05; done
            sleep 0.3; kill -9 $shim
            wait $pid; echo "exit=$?"
            sleep 0.2; pgrep -fx "sleep 31.5" >/dev/null && echo "container still running" || echo "container gone"
            """
        let r = try await Command.run("/bin/sh", ["-c", script, CLIHarness.binary, cli.stateDirectory.path], workingDirectory: CLIHarness.repository.path)
        #expect(r.stdout.contains("exit=255"), "\(r.stdout)")
        #expect(r.stdout.contains("container gone"), "\(r.stdout)")
        let report = try JSONParser.parse(Array(try Data(contentsOf: cli.stateDirectory.appendingPathComponent("r.json"))))
        guard case let .array(containers)? = report["containers"] else {
            Issue.record("no containers")
            return
        }
        #expect(containers.first?["reason"] == .string("the container's shim exited without recording an exit code"))
    }

    @Test func essentialExitCodeIsTheRunExitCodeAndReportsAreWritten() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let json = cli.stateDirectory.appendingPathComponent("out/report.json").path
        let xml = cli.stateDirectory.appendingPathComponent("out/report.xml").path
        let r = try await cli.run(["run", "--wait", "Tests/Fixtures/run/essential-exit.json", "--report", json, "--report", xml])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stdout.contains("polite | polite: got SIGTERM"))
        #expect(r.stdout.contains("stubborn | stubborn: ignoring SIGTERM"))

        let report = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: json))))
        #expect(report["stopCode"] == .string("EssentialContainerExited"))
        #expect(report["stoppedReason"] == .string("Essential container in task exited"))
        #expect(report["exitCode"] == .number("3"))
        guard case let .array(containers)? = report["containers"] else {
            Issue.record("no containers")
            return
        }
        let codes = Dictionary(
            uniqueKeysWithValues: containers.compactMap { c -> (String, JSONValue)? in
                guard let n = c["name"]?.stringValue, let code = c["exitCode"] else { return nil }
                return (n, code)
            })
        #expect(codes == ["main": .number("3"), "polite": .number("0"), "stubborn": .number("137")])
        let logFile = try #require(containers.first?["logFile"]?.stringValue)
        #expect(try String(contentsOfFile: logFile, encoding: .utf8).contains("main: failing with 3"))
        #expect(containers.first?["logStream"]?.stringValue?.hasPrefix("main/") == true)

        let junit = try String(contentsOfFile: xml, encoding: .utf8)
        #expect(junit.contains("tests=\"3\" failures=\"1\""))
        #expect(junit.contains("<failure message=\"essential container main exited with code 3"))
        #expect(junit.contains("<testcase classname=\"essential-exit\" name=\"stubborn\">"))
    }

    @Test func timeoutExits124() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "--timeout", "1s", "Tests/Fixtures/run/long-running.json"])
        #expect(r.status == 124)
        #expect(r.stdout.contains("worker | worker: got SIGTERM"))
        #expect(r.stderr.contains("--timeout (1s)"))
    }

    @Test func failedStartExits125WithTheReason() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "Tests/Fixtures/run/never-succeeds.json"])
        #expect(r.status == 125)
        #expect(
            r.stderr.contains("task failed to start: CannotStartContainerError: container \"app\" cannot start: its dependency \"init\" exited with code 1"))
        let noCommand = try await cli.run(["run", "--wait", "-q", "Tests/Fixtures/run/no-command.json"])
        #expect(noCommand.status == 125)
        #expect(noCommand.stderr.contains("CannotStartContainerError: container app has no command to run"))
    }

    /// Process runtime: a container whose log stream's disk fills (a 1 MiB tmpfs) loses lines,
    /// not its task, and the shim's count of them is said once the container has exited.
    /// Needs root (mount), as CI runs.
    @Test func aFullLogDiskIsSaidForProcessContainers() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.withSmallLogDisk {
            try await cli.run(["run", "--wait", "-q", "--runtime", "process", "Tests/Fixtures/docker/floods-its-log.json"])
        }
        #expect(r.status == 5, "\(r.stderr)")
        let said = r.stderr.split(separator: "\n").filter { $0.contains("could not be written to its log stream") }
        #expect(said.count == 1 && said.first?.hasPrefix("fargate-local: warning: container flood: ") == true, "\(r.stderr)")
        let task = try #require(try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue?.first)
        #expect(task["lastStatus"]?.stringValue == "STOPPED" && task["containers"]?.arrayValue?.first?["exitCode"] == .number("5"), "\(task.serialized())")
    }

    /// `-` reads the task definition from standard input (`envsubst < td.json | fargate-local run
    /// --wait -`), for run, validate and register alike; a malformed one is named `-`.
    @Test func aTaskDefinitionFromStandardInput() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let script = #"""
            "$0" run --wait -q --runtime process --state-dir "$1" - < taskdefs/hello.json; echo "run=$?"
            "$0" validate - < taskdefs/hello.json; echo "validate=$?"
            "$0" register --state-dir "$1" - < taskdefs/hello.json; echo "register=$?"
            echo '{"family": "x"' | "$0" validate - 2>&1; echo "malformed=$?"
            """#
        let r = try await Command.run("bash", ["-c", script, CLIHarness.binary, cli.stateDirectory.path], workingDirectory: CLIHarness.repository.path)
        #expect(r.stdout.contains("hello | hello from AWS_ECS_FARGATE in us-east-1\nhello | GREETING=hi\nrun=0\n"), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("-: valid\nvalidate=0\n"), "\(r.stdout)")
        #expect(r.stdout.contains("task-definition/hello:2\nregister=0\n"), "register makes a new revision: \(r.stdout)")
        #expect(r.stdout.contains("-: error: malformed JSON at line 2, column 1") && r.stdout.contains("malformed=1\n"), "\(r.stdout)")
    }

    /// `-q` leaves stderr to the task's own errors: nothing of fargate-local's, nor the
    /// dynamic loader's (a non-PIE debug build made it warn as runtime functions bound);
    /// `--no-prefix` leaves stdout to the container's lines as written.
    @Test func quietRunLeavesStderrEmpty() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "-q", "--runtime", "process", "taskdefs/hello.json", "--env", "GREETING=quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "hello | hello from AWS_ECS_FARGATE in us-east-1\nhello | GREETING=quiet\n", "\(r.stdout)")
        #expect(r.stderr == "", "\(r.stderr)")
        let raw = try await cli.run(["run", "--wait", "-q", "--no-prefix", "--runtime", "process", "taskdefs/hello.json", "--env", "GREETING=raw"])
        #expect(raw.status == 0 && raw.stdout == "hello from AWS_ECS_FARGATE in us-east-1\nGREETING=raw\n", "\(raw.stdout)\n\(raw.stderr)")
    }

    @Test func badInputChangesNothing() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let ok = try await cli.run(["run", "--wait", "-q", "taskdefs/hello.json"])
        #expect(ok.status == 0)
        let before = try await cli.run(["ps", "-a", "--output", "json"])
        for args in [
            ["run", "--wait", "Tests/Fixtures/validate/fargate-bad-memory.json"],
            ["run", "--wait", "Tests/Fixtures/validate/malformed-missing-comma.json"],
            ["run", "--wait", "taskdefs/hello.json", "--env", "NOEQUALS"],
            ["run", "--wait", "taskdefs/hello.json", "--env", "ghost:A=1"],
            ["run", "--wait", "taskdefs/hello.json", "--timeout", "soon"],
            ["run", "--wait", "no-such-family"],
        ] {
            let r = try await cli.run(args)
            #expect(r.status == 125, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("fargate-local") || r.stderr.contains("error:"), "\(args): \(r.stderr)")
        }
        let malformed = try await cli.run(["run", "--wait", "Tests/Fixtures/validate/malformed-missing-comma.json"])
        #expect(malformed.stderr.contains("line 4, column 21"))
        let after = try await cli.run(["ps", "-a", "--output", "json"])
        #expect(before.stdout == after.stdout)
        #expect(try await cli.run(["taskdefs", "bad-memory"]).status == 1)
    }

    /// `run` opens its state database while its command line is parsed, from the directory
    /// it reads off the raw arguments: every way of naming the directory must land the task
    /// in the one the parsed options name, and a command line that fails to parse must
    /// create no state.
    @Test func theStateDirectoryIsHonouredHoweverItIsGiven() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("fl-e2e-other-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: other) }
        let dir = cli.stateDirectory.path
        func run(_ args: [String], environment: [String: String] = [:]) async throws -> Command.Output {
            try await Command.run(CLIHarness.binary, args, environment: environment, workingDirectory: CLIHarness.repository.path)
        }
        let hello = ["run", "--wait", "-q", "--runtime", "process", "--started-by", "spelling"]
        #expect(try await run(hello + ["--state-dir", dir, "taskdefs/hello.json"]).status == 0, "creates the state")
        #expect(try await run(hello + ["--state-dir=\(dir)", "taskdefs/hello.json"]).status == 0)
        #expect(try await run(hello + ["taskdefs/hello.json"], environment: ["FARGATE_LOCAL_HOME": dir]).status == 0)
        // The option wins over the environment, which names a directory with state of its own.
        #expect(try await run(hello + ["taskdefs/hello.json"], environment: ["FARGATE_LOCAL_HOME": other.path]).status == 0)
        #expect(try await run(hello + ["taskdefs/hello.json", "--state-dir", dir], environment: ["FARGATE_LOCAL_HOME": other.path]).status == 0)

        let listed = try await cli.run(["ps", "-a", "--started-by", "spelling", "--output", "json"])
        func count(_ json: String) throws -> Int? {
            guard case let .array(tasks)? = try JSONParser.parse(json)["tasks"] else { return nil }
            return tasks.count
        }
        #expect(try count(listed.stdout) == 4, "\(listed.stdout)")
        let elsewhere = try await run(["ps", "-a", "--output", "json", "--state-dir", other.path])
        #expect(try count(elsewhere.stdout) == 1, "\(elsewhere.stdout)")

        let fresh = other.appendingPathComponent("never", isDirectory: true)
        let bad = try await run(["run", "--wait", "--no-such-option", "--state-dir", fresh.path, "taskdefs/hello.json"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--no-such-option"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fresh.path), "a command line that fails to parse creates no state")
        let badExisting = try await run(["run", "--wait", "--no-such-option", "--state-dir", dir, "taskdefs/hello.json"])
        #expect(badExisting.status != 0)
        #expect(try await cli.run(["ps", "-a", "--started-by", "spelling", "--output", "json"]).stdout == listed.stdout, "nothing changed")
    }

    @Test func environmentOverridesFromTheCommandLine() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "-q", "--region", "ap-south-1", "taskdefs/hello.json", "--env", "GREETING=overridden"])
        #expect(r.status == 0)
        #expect(r.lines.contains("hello | hello from AWS_ECS_FARGATE in ap-south-1"))
        #expect(r.lines.contains("hello | GREETING=overridden"))
        let one = try await cli.run(["run", "--wait", "-q", "taskdefs/hello.json", "--env", "hello:GREETING=just-hello"])
        #expect(one.lines.contains("hello | GREETING=just-hello"))
    }

    /// A process container's `/stats` from the metadata endpoint: its process group's CPU and
    /// memory in Docker's shape, with a sample a second earlier as `precpu_stats`; asked for
    /// as the container starts, before the supervisor has saved its pid.
    @Test func metadataStatsOfAProcessContainer() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "Tests/Fixtures/run/stats.json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        func json(_ prefix: String) -> JSONValue? {
            r.stdout.split(separator: "\n").first { $0.hasPrefix("app | \(prefix) ") }
                .flatMap { try? JSONParser.parse(Array($0.dropFirst("app | \(prefix) ".count).utf8)) }
        }
        let early = json("stats")
        #expect((early?["pids_stats"]?["current"]?.doubleValue ?? 0) >= 2, "sh and curl: \(r.stdout)")
        #expect((early?["memory_stats"]?["usage"]?.doubleValue ?? 0) > 0)
        #expect(early?["precpu_stats"] != nil && early?["preread"] != nil)
        guard case let .object(task)? = json("taskstats"), let app = task.first?.value else {
            Issue.record("no task stats: \(r.stdout)")
            return
        }
        #expect(task.first?.key.hasSuffix("-app") == true)
        // The busy loop ran before both samples.
        #expect((app["cpu_stats"]?["cpu_usage"]?["total_usage"]?.doubleValue ?? 0) > 0, "\(app.serialized())")
        #expect((app["precpu_stats"]?["cpu_usage"]?["total_usage"]?.doubleValue ?? 0) > 0, "\(app.serialized())")
        #expect((app["cpu_stats"]?["system_cpu_usage"]?.doubleValue ?? 0) > (app["precpu_stats"]?["system_cpu_usage"]?.doubleValue ?? .infinity))
    }

    @Test func detachedTaskIsListedFollowedAndStopped() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let started = try await cli.run(["run", "Tests/Fixtures/run/long-running.json", "--started-by", "e2e", "--enable-execute-command"])
        #expect(started.status == 0, "\(started.stderr)")
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 32)
        // Wait until the worker has logged its start.
        var logs = try await cli.run(["logs", String(id.prefix(8))])
        for _ in 0..<100 where !logs.stdout.contains("worker: started") {
            try await Task.sleep(for: .milliseconds(100))
            logs = try await cli.run(["logs", String(id.prefix(8))])
        }
        #expect(logs.stdout.contains("worker: started"))
        let ps = try await cli.run(["ps", "--started-by", "e2e"])
        #expect(ps.stdout.contains(String(id.prefix(12))))
        #expect(ps.stdout.contains("long-running:1"))
        #expect(ps.stdout.contains("RUNNING"))

        // exec: with the container's environment, in its working directory; -c after the task too.
        let exec = try await cli.run(["exec", String(id.prefix(8)), "-c", "worker", "--", "sh", "-c", "echo $AWS_EXECUTION_ENV in $(pwd); exit 3"])
        #expect(exec.status == 3 && !exec.stderr.contains("enableExecuteCommand"), "\(exec.stderr)")
        #expect(exec.stdout == "AWS_ECS_FARGATE in \(CLIHarness.repository.path)\n", "\(exec.stdout)")
        let wrong = try await cli.run(["exec", id, "--container", "nope", "--", "true"])
        #expect(wrong.status == 1 && wrong.stderr.contains("has no container \"nope\"; its containers: worker"), "\(wrong.stderr)")
        // -t: the command gets a terminal (script(1)'s), its exit code still exec's.
        let terminal = try await cli.run(["exec", id, "-t", "--", "sh", "-c", "test -t 1 && echo \"tty-out it's\"; exit 6"])
        #expect(terminal.status == 6 && terminal.stdout.contains("tty-out it's"), "\(terminal.stdout.debugDescription)\n\(terminal.stderr)")
        let stop = try await cli.run(["stop", String(id.prefix(6)), "--reason", "e2e says stop", "--wait"])
        #expect(stop.status == 0, "\(stop.stderr)")
        let described = try await cli.run(["describe", id])
        let doc = try JSONParser.parse(described.stdout)
        guard case let .array(tasks)? = doc["tasks"], let task = tasks.first else {
            Issue.record("no task: \(described.stdout)")
            return
        }
        #expect(task["lastStatus"] == .string("STOPPED"))
        #expect(task["desiredStatus"] == .string("STOPPED"))
        #expect(task["stopCode"] == .string("UserInitiated"))
        #expect(task["stoppedReason"] == .string("e2e says stop"))
        #expect(task["taskArn"]?.stringValue?.hasSuffix("task/default/\(id)") == true)
        guard case let .array(containers)? = task["containers"] else {
            Issue.record("no containers")
            return
        }
        #expect(containers.first?["exitCode"] == .number("143"))
        // Host processes are at the host's loopback; the ENI attachment is DELETED once STOPPED.
        let attachment = task["attachments"].flatMap { v -> JSONValue? in
            if case let .array(a) = v { return a.first }
            return nil
        }
        #expect(attachment?["status"] == .string("DELETED"), "\(described.stdout)")
        #expect(attachment?["type"] == .string("ElasticNetworkInterface"))
        #expect(attachment?["details"]?.serialized().contains("\"privateIPv4Address\",\"value\":\"127.0.0.1\"") == true, "\(described.stdout)")
        let table = try await cli.run(["describe", id, "--output", "table"])
        #expect(table.stdout.contains(String(id.prefix(12))) && table.stdout.contains("STOPPED") && table.stdout.contains("143"))
        let defs = try await cli.run(["taskdefs"])
        #expect(defs.stdout.contains("task-definition/long-running:1"))
        #expect(try await cli.run(["taskdefs", "long-running:1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("long-running:1"))
        let follow = try await cli.run(["logs", "-f", id])
        #expect(follow.stdout.contains("worker: got SIGTERM"))
        #expect(try await cli.run(["ps"]).stdout.contains(String(id.prefix(12))) == false)
        #expect(try await cli.run(["ps", "-a"]).stdout.contains(String(id.prefix(12))))
        let missing = try await cli.run(["describe", "ffffffff"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("\"reason\" : \"MISSING\""))
    }

    /// `logs -f` from a task's start prints every line once, in order, however the lines come
    /// (bursts of 1,000, pauses between): it reads what the stream gained each round.
    @Test func logsFollowPrintsEveryLineOnceWhileTheTaskWrites() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let started = try await cli.run(["run", "--runtime", "process", "Tests/Fixtures/run/bursts.json"])
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(started.status == 0 && id.count == 32, "\(started.stdout) \(started.stderr)")
        let follow = try await cli.run(["logs", "-f", id])
        let expected = (1...12000).map { "line \($0) of a burst that logs -f must print once\n" }.joined()
        #expect(follow.status == 0)
        #expect(follow.stdout == expected, "\(follow.stdout.split(separator: "\n").count) lines: \(follow.stdout.suffix(300))")
    }

    /// `events -f` gives each task's changes once, in order, to STOPPED: tasks that stopped
    /// before it started (once), and tasks that start and stop while it follows, even one that
    /// does both between two of its rounds. After its first round it reads only the tasks that
    /// may still change.
    @Test func eventsFollowGivesEachChangeOnce() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        #expect(try await cli.run(["run", "--wait", "-q", "--runtime", "process", "Tests/Fixtures/run/brief.json"]).status == 0)
        let script = #"""
            "$0" events -f --state-dir "$1" > "$1/events.out" & follower=$!
            sleep 1
            for pause in 0.6 0 0.6 0; do "$0" run --wait -q --runtime process --state-dir "$1" --env PAUSE=$pause Tests/Fixtures/run/brief.json > /dev/null; done
            sleep 1
            kill $follower
            """#
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        _ = try await Command.run("bash", ["-c", script, CLIHarness.binary, cli.stateDirectory.path], workingDirectory: CLIHarness.repository.path)
        let lines = (try String(contentsOf: cli.stateDirectory.appendingPathComponent("events.out"), encoding: .utf8)).split(separator: "\n")
        var statuses: [String: [String]] = [:]
        var versions: [String: [Int]] = [:]
        for line in lines {
            let detail = try JSONParser.parse(String(line))["detail"]
            let arn = try #require(detail?["taskArn"]?.stringValue)
            statuses[arn, default: []].append(detail?["lastStatus"]?.stringValue ?? "")
            versions[arn, default: []].append(detail?["version"]?.intValue ?? -1)
        }
        #expect(statuses.count == 5, "\(statuses)")
        for (arn, seen) in statuses {
            #expect(seen.last == "STOPPED" && seen.filter { $0 == "STOPPED" }.count == 1, "\(arn): \(seen)")
            let v = versions[arn] ?? []
            #expect(v == v.sorted() && Set(v).count == v.count, "\(arn): versions \(v)")
        }
        #expect(statuses.values.filter { $0 == ["STOPPED"] }.count >= 1, "the task stopped before events began: once")
    }

    /// `logs --since` prints only the lines of that last stretch (read from that time on, not
    /// from the stream's start): 20,000 lines, 6 s of quiet, two more lines.
    @Test func logsSinceStartsAtThatTime() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let ran = try await cli.run(["run", "--wait", "-q", "--runtime", "process", "Tests/Fixtures/run/early-and-late.json"])
        #expect(ran.status == 0)
        let id = try await cli.run(["ps", "-a", "-q"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let recent = try await cli.run(["logs", id, "--since", "3s"])
        #expect(recent.status == 0 && recent.stdout == "late 1\nlate 2\n", "\(recent.stdout.prefix(200))")
        let all = try await cli.run(["logs", id, "--since", "1h"])
        #expect(all.stdout.split(separator: "\n").count == 20_002)
    }

    /// `run --wait | head -1`: the reader goes, `run` does not. It supervises its task to the
    /// end (the task's exit code is its own, every line in the log stream) and says once that
    /// its output has nowhere to go. Before, the first write after the reader left trapped,
    /// and the task ran on with no supervisor.
    @Test func runOutlivesTheReaderOfItsOutput() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let script =
            #"set -o pipefail; "$0" run --wait -q --runtime process --state-dir "$1" Tests/Fixtures/run/outlives-reader.json 2>"$1/run.err" | head -1; echo "run=${PIPESTATUS[0]}""#
        let r = try await Command.run("bash", ["-c", script, CLIHarness.binary, cli.stateDirectory.path], workingDirectory: CLIHarness.repository.path)
        #expect(r.stdout == "talker | 1\nrun=3\n", "\(r.stdout)")
        let errors = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("run.err"), encoding: .utf8)) ?? ""
        #expect(
            errors == "fargate-local: stdout was closed; the task runs on to its end, and its output is kept in its log streams (fargate-local logs)\n",
            "\(errors)")
        let id = try await cli.run(["ps", "-a", "-q"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let described = try JSONParser.parse(try await cli.run(["describe", id]).stdout)
        let task = described["tasks"]?.arrayValue?.first
        #expect(task?["lastStatus"] == .string("STOPPED") && task?["stopCode"] == .string("EssentialContainerExited"), "\(described.serialized())")
        #expect(task?["containers"]?.arrayValue?.first?["exitCode"] == .number("3"))
        let logged = try await cli.run(["logs", id])
        #expect(logged.stdout == (1...40000).map { "\($0)\n" }.joined(), "\(logged.stdout.split(separator: "\n").count) lines")
    }

    /// `stop --time` replaces stopTimeout: a worker that needs 2 s to shut down exits 0 under its
    /// own stopTimeout (30 s) but is killed (137) with `--time 1`.
    @Test func stopTimeReplacesTheStopTimeout() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        var codes: [String: JSONValue] = [:]
        for time in ["default", "1"] {
            let started = try await cli.run(["run", "Tests/Fixtures/run/slow-shutdown.json"])
            let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            for _ in 0..<100 where !(try await cli.run(["logs", id])).stdout.contains("worker: started") {
                try await Task.sleep(for: .milliseconds(50))
            }
            let stop = try await cli.run(["stop", id, "--wait"] + (time == "default" ? [] : ["--time", time]))
            #expect(stop.status == 0, "\(stop.stderr)")
            let doc = try JSONParser.parse(try await cli.run(["describe", id]).stdout)
            if case let .array(tasks)? = doc["tasks"], case let .array(containers)? = tasks.first?["containers"] {
                codes[time] = containers.first?["exitCode"]
            }
        }
        #expect(codes == ["default": .number("0"), "1": .number("137")])
        let refused = try await cli.run(["stop", "x", "--time", "1", "--endpoint", "http://127.0.0.1:9"])
        #expect(refused.status == 1 && refused.stderr.contains("--time cannot be used with --endpoint"))
    }

    /// A stop asked for at once after `run` returns, while its background supervisor is
    /// still starting and saving the task's first transitions: the task stops, with the
    /// reason asked for. (Once, in CI, such a stop killed the supervisor as it started and
    /// `stop --wait` waited forever; a reason saved in the task's record could be
    /// overwritten by the supervisor saving it.)
    @Test func aTaskStoppedAsSoonAsItIsRunStopsWithItsReason() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        for round in 0..<4 {
            let id = try await cli.run(["run", "--runtime", "process", "Tests/Fixtures/run/long-running.json"]).stdout.trimmingCharacters(
                in: .whitespacesAndNewlines)
            let stop = try await cli.run(["stop", id, "--reason", "at once \(round)", "--wait"])
            #expect(stop.status == 0, "round \(round): \(stop.stderr)")
            let task = try JSONParser.parse(try await cli.run(["describe", id]).stdout)["tasks"]?.arrayValue?.first
            #expect(
                task?["lastStatus"] == .string("STOPPED") && task?["stoppedReason"] == .string("at once \(round)"),
                "round \(round): \(task?.serialized() ?? "")")
        }
    }

    /// A task's supervisor is known by its pid *and* start time: once that process is gone,
    /// its pid in another process's hands (recycled, or after a reboot) is not signalled by
    /// `stop`, and the task is not taken for supervised: `stop` takes it over.
    @Test func aRecycledSupervisorPidIsNeverSignalled() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let id = try await cli.run(["run", "--runtime", "process", "Tests/Fixtures/run/long-running.json"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        for _ in 0..<100 where !(try await cli.run(["logs", id])).stdout.contains("worker: started") {
            try await Task.sleep(for: .milliseconds(50))
        }
        // An unrelated process, given the supervisor's pid in the task's record; it notes a
        // SIGTERM (whatever disposition and mask it inherited for it).
        let signalled = cli.stateDirectory.appendingPathComponent("bystander-signalled").path
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        bystander.arguments = [
            "-c",
            "import signal, sys, time\ndef note(*_):\n    open('\(signalled)', 'w').write('TERM')\n    sys.exit(0)\nsignal.signal(signal.SIGTERM, note)\nsignal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])\ntime.sleep(60)",
        ]
        try bystander.run()
        // The supervisor has saved the task RUNNING (it saves its record whole on each
        // transition), and the bystander's handler is in place.
        for _ in 0..<100 where !(try await cli.run(["describe", id])).stdout.contains("\"lastStatus\" : \"RUNNING\"") {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(300))
        defer { if bystander.isRunning { bystander.terminate() } }
        func setSupervisorPID(_ pid: String) async throws -> String {
            try await Command.python(
                """
                import json, sqlite3
                db = sqlite3.connect("\(cli.stateDirectory.path)/state.sqlite")
                record = json.loads(db.execute("SELECT record FROM tasks WHERE id = ?", ("\(id)",)).fetchone()[0])
                old = record["supervisorPID"]
                if "\(pid)": record["supervisorPID"] = int("\(pid)")
                db.execute("UPDATE tasks SET record = ? WHERE id = ?", (json.dumps(record), "\(id)"))
                db.commit()
                print(old)
                """
            ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // The supervisor dies, and its pid is now the bystander's.
        let supervisor = try await setSupervisorPID(String(bystander.processIdentifier))
        _ = try await Command.run("kill", ["-9", supervisor])
        let stop = try await cli.run(["stop", id, "--reason", "after the supervisor died"])
        #expect(stop.status == 0 && stop.stderr.contains("task \(id) had no running supervisor; stopping it from here"), "\(stop.stderr)")
        try await Task.sleep(for: .milliseconds(300))
        #expect(!FileManager.default.fileExists(atPath: signalled), "stop signalled the process that now has the supervisor's pid")
        // Taken over and stopped instead.
        let task = try #require(try JSONParser.parse(try await cli.run(["describe", id]).stdout)["tasks"]?.arrayValue?.first)
        #expect(task["lastStatus"]?.stringValue == "STOPPED" && task["stoppedReason"]?.stringValue == "after the supervisor died", "\(task.serialized())")
        #expect(task["containers"]?.arrayValue?.first?["exitCode"] == .number("143"))
    }

    /// A task placed on FARGATE_SPOT (`run --capacity-provider`) and reclaimed with
    /// `stop --spot-interruption`, through its own supervisor (`run` without --wait).
    @Test func aSpotTaskIsReclaimedAsFargateSpotDoes() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let refused = try await cli.run(["run", "--capacity-provider", "SPOT", "Tests/Fixtures/run/long-running.json"])
        #expect(refused.status == 125 && refused.stderr.contains("--capacity-provider must be FARGATE or FARGATE_SPOT"), "\(refused.stderr)")
        let started = try await cli.run(["run", "--capacity-provider", "FARGATE_SPOT", "Tests/Fixtures/run/long-running.json"])
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for _ in 0..<100 where !(try await cli.run(["logs", id])).stdout.contains("worker: started") {
            try await Task.sleep(for: .milliseconds(50))
        }
        let withReason = try await cli.run(["stop", id, "--spot-interruption", "--reason", "mine"])
        #expect(withReason.status == 1 && withReason.stderr.contains("cannot be used with --reason"), "\(withReason.stderr)")
        let stop = try await cli.run(["stop", id, "--spot-interruption", "--wait"])
        #expect(stop.status == 0 && !stop.stderr.contains("note:"), "\(stop.stderr)")
        let task = try JSONParser.parse(try await cli.run(["describe", id]).stdout)["tasks"]?.arrayValue?.first
        #expect(task?["capacityProviderName"] == .string("FARGATE_SPOT") && task?["launchType"] == .string("FARGATE"), "\(task?.serialized() ?? "")")
        #expect(
            task?["stopCode"] == .string("SpotInterruption") && task?["stoppedReason"] == .string("Your Spot Task was interrupted."),
            "\(task?.serialized() ?? "")")
        let logs = try await cli.run(["logs", id])
        #expect(logs.stdout.contains("worker: got SIGTERM"), "\(logs.stdout)")
    }

    /// Ctrl-C stops a `run --wait` task gracefully (SIGTERM, then SIGKILL after stopTimeout:
    /// here 120 s, and the container ignores SIGTERM); Ctrl-C again kills it now. In both
    /// runtimes (Docker: a real engine, which must answer).
    @Test(arguments: ["process", "docker"])
    func aSecondInterruptKillsTheTaskNow(runtime: String) async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let file = try await cli.definition("Tests/Fixtures/run/ignores-sigterm.json", for: runtime)
        let script = """
            "$0" run --wait --runtime "$2" --state-dir "$1" "$3" > "$1.out" 2> "$1.err" &
            pid=$!
            for _ in $(seq 400); do grep -q 'stubborn: started' "$1.out" 2>/dev/null && break; sleep 0.05; done
            kill -INT $pid
            for _ in $(seq 400); do grep -q 'ignoring SIGTERM' "$1.out" && break; sleep 0.05; done
            kill -0 $pid 2>/dev/null && echo "alive after the first interrupt"
            kill -INT $pid
            wait $pid
            echo "run exited $?"
            cat "$1.err" >&2
            """
        let result = try await Command.run(
            "bash", ["-c", script, CLIHarness.binary, cli.stateDirectory.path, runtime, file],
            workingDirectory: CLIHarness.repository.path)
        #expect(result.stdout.contains("alive after the first interrupt"), "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("run exited 137"), "\(result.stdout)\n\(result.stderr)")
        #expect(
            result.stderr.contains("Ctrl-C again to kill its containers now") && result.stderr.contains("killing the task's containers now"), "\(result.stderr)"
        )
        let tasks = try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue ?? []
        let task = try #require(tasks.first)
        #expect(
            task["stopCode"]?.stringValue == "UserInitiated" && task["stoppedReason"]?.stringValue == "Task stopped by user (interrupted)",
            "\(task.serialized())")
        #expect(task["containers"]?.arrayValue?.first?["exitCode"] == .number("137"))
    }

    /// `stop` of a task whose supervisor is gone (killed here with SIGKILL) takes the task over,
    /// as `serve` would, and stops it: SIGTERM reaches the container, the reason is recorded.
    /// Before, `stop` refused ("its state cannot be changed from here").
    /// In both runtimes (Docker: a real engine, which must answer; the dead supervisor's
    /// 169.254.170.2 rule goes with the task).
    @Test(arguments: ["process", "docker"])
    func stopTakesOverATaskWhoseSupervisorIsGone(runtime: String) async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let file = try await cli.definition("Tests/Fixtures/run/long-running.json", for: runtime)
        let started = try await cli.run(["run", "--runtime", runtime, file])
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 32, "\(started.stderr)")
        let killed = try await Command.run(
            "/bin/sh",
            [
                "-c",
                """
                for _ in $(seq 100); do "$0" logs --state-dir "$1" "$2" | grep -q 'worker: started' && break; sleep 0.05; done
                pkill -9 -f "supervise $2" && echo killed
                """, CLIHarness.binary, cli.stateDirectory.path, id,
            ])
        #expect(killed.stdout == "killed\n", "\(killed.stdout) \(killed.stderr)")
        let stop = try await cli.run(["stop", id, "--reason", "its supervisor was killed"])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout == id + "\n")
        #expect(stop.stderr.contains("task \(id) had no running supervisor; stopping it from here"), "\(stop.stderr)")
        let task = try #require(try JSONParser.parse(try await cli.run(["describe", id]).stdout)["tasks"]?.arrayValue?.first)
        #expect(task["lastStatus"]?.stringValue == "STOPPED" && task["stopCode"]?.stringValue == "UserInitiated", "\(task.serialized())")
        #expect(task["stoppedReason"]?.stringValue == "its supervisor was killed")
        #expect(task["containers"]?.arrayValue?.first?["exitCode"] == .number("143"))
        #expect(try await cli.run(["logs", id]).stdout.contains("worker: got SIGTERM"))
        if runtime == "docker" {
            let hex = Array(id.prefix(8))
            let mac = "02:fa:" + stride(from: 0, to: 8, by: 2).map { String(hex[$0..<$0 + 2]) }.joined(separator: ":")
            let rules = try await Command.run("iptables", ["-t", "nat", "-S", "PREROUTING"])
            #expect(!rules.stdout.lowercased().contains(mac), "the dead supervisor's rule for \(mac) is left: \(rules.stdout)")
        }
    }

    /// A hangup (the terminal of `run --wait` closed, an ssh session dropped) stops the task as
    /// SIGTERM does; before, it ended `run` and left the task running with no supervisor.
    @Test func aHangupStopsTheTask() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let script = """
            "$0" run --wait --runtime process --state-dir "$1" Tests/Fixtures/run/long-running.json > "$1/run.out" 2> "$1/run.err" &
            pid=$!
            for _ in $(seq 400); do grep -q 'worker: started' "$1/run.out" 2>/dev/null && break; sleep 0.05; done
            kill -HUP $pid
            wait $pid
            echo "run exited $?"
            """
        let result = try await Command.run("bash", ["-c", script, CLIHarness.binary, cli.stateDirectory.path], workingDirectory: CLIHarness.repository.path)
        #expect(result.stdout == "run exited 143\n", "\(result.stdout)\n\(result.stderr)")
        let output = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("run.out"), encoding: .utf8)) ?? ""
        #expect(output.contains("worker | worker: got SIGTERM"), "\(output)")
        let task = try #require(try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue?.first)
        #expect(task["lastStatus"]?.stringValue == "STOPPED" && task["stopCode"]?.stringValue == "UserInitiated", "\(task.serialized())")
        #expect(task["stoppedReason"]?.stringValue == "Task stopped by user (hangup: its terminal closed)", "\(task.serialized())")
    }

    /// Process runtime: a container's ulimits are its limits (set by its shim), and one that
    /// sets no nofile gets Fargate's 65535, both capped at this host's hard limits.
    @Test func processContainersGetTheirUlimits() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "-q", "--runtime", "process", "Tests/Fixtures/run/ulimits.json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        func limits(_ container: String) -> [String] {
            r.lines.filter { $0.hasPrefix("\(container) | ") }.map {
                String($0.dropFirst(container.count + 3)).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            }
        }
        let hostNofile = Int(try await Command.run("/bin/sh", ["-c", "ulimit -Hn"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let fargate = String(min(65535, hostNofile))
        #expect(limits("default") == ["Max open files \(fargate) \(fargate) files"], "\(r.stdout)")
        #expect(limits("set") == ["Max core file size 0 0 bytes", "Max processes 500 600 processes", "Max open files 1000 2000 files"], "\(r.stdout)")
    }

    /// `--env-file`: NAME=VALUE lines (comments and blank lines ignored) become overrides as
    /// `--env` entries do, `--env` winning; a malformed line is refused with its file and
    /// line number, and nothing runs.
    @Test func envFilesAreOverridesAndBadLinesAreNamed() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let definition = cli.stateDirectory.appendingPathComponent("env.json")
        try
            #"{"family": "env-file", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "x", "command": ["sh", "-c", "echo GREETING=$GREETING SPACED=$SPACED EMPTY=[$EMPTY] EQ=$EQ"]}]}"#
            .write(to: definition, atomically: true, encoding: .utf8)
        let file = cli.stateDirectory.appendingPathComponent("app.env")
        try "# settings\nGREETING=from the file\n\n  SPACED=a b  \nEMPTY=\nEQ=x=y\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try await cli.run(["run", "--wait", "-q", "--runtime", "process", "--env-file", file.path, "--env", "GREETING=from the flag", definition.path])
        #expect(r.status == 0 && r.stdout == "app | GREETING=from the flag SPACED=a b EMPTY=[] EQ=x=y\n", "\(r.stdout)\n\(r.stderr)")
        let bad = cli.stateDirectory.appendingPathComponent("bad.env")
        try "OK=1\nnot a variable\n".write(to: bad, atomically: true, encoding: .utf8)
        let refused = try await cli.run(["run", "--wait", "--runtime", "process", "--env-file", bad.path, definition.path])
        #expect(refused.status == 125 && refused.stderr.contains("--env-file \(bad.path):2: expected NAME=VALUE"), "\(refused.stderr)")
        let missing = try await cli.run(["run", "--wait", "--runtime", "process", "--env-file", "/nonexistent.env", definition.path])
        #expect(missing.status == 125 && missing.stderr.contains("--env-file /nonexistent.env: cannot read the file"), "\(missing.stderr)")
        let tasks = try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue ?? []
        #expect(tasks.count == 1, "only the first run ran")
    }

    /// `--overrides` takes RunTask's overrides as `aws ecs run-task --overrides` does (JSON, or
    /// file://PATH): a container's command and environment are replaced, `--env` merged in
    /// and winning, and the task records them as DescribeTasks shows overrides. Overrides
    /// RunTask would refuse are refused in its words, before anything is registered or run.
    /// (`app` waits for `side` to complete, so that both print before the task stops.)
    @Test func overridesReplaceCommandsAndMergeWithEnv() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let definition = cli.stateDirectory.appendingPathComponent("two.json")
        try #"""
        {"family": "overridden", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
          {"name": "app", "image": "x", "command": ["sh", "-c", "echo default A=$A B=$B"], "environment": [{"name": "A", "value": "from-definition"}],
               "dependsOn": [{"containerName": "side", "condition": "COMPLETE"}]},
          {"name": "side", "image": "x", "essential": false, "command": ["sh", "-c", "echo side C=$C"]}]}
        """#.write(to: definition, atomically: true, encoding: .utf8)
        let sideOverride = cli.stateDirectory.appendingPathComponent("side.json")
        try #"{"containerOverrides": [{"name": "side", "command": ["sh", "-c", "echo side from file C=$C"]}]}"#
            .write(to: sideOverride, atomically: true, encoding: .utf8)

        let plain = try await cli.run(["run", "--wait", "-q", "--runtime", "process", definition.path])
        #expect(plain.status == 0 && plain.lines.contains("app | default A=from-definition B="), "\(plain.stdout)")
        let r = try await cli.run([
            "run", "--wait", "-q", "--runtime", "process", definition.path,
            "--overrides",
            #"{"containerOverrides": [{"name": "app", "command": ["sh", "-c", "echo overridden A=$A B=$B"], "environment": [{"name": "A", "value": "from-overrides"}, {"name": "B", "value": "kept"}]}]}"#,
            "--env", "A=from-env", "--env", "side:C=c1",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines.contains("app | overridden A=from-env B=kept"), "\(r.stdout)")
        #expect(r.lines.contains("side | side C=c1"), "\(r.stdout)")
        let fromFile = try await cli.run(["run", "--wait", "-q", "--runtime", "process", definition.path, "--overrides", "file://\(sideOverride.path)"])
        #expect(fromFile.status == 0 && fromFile.lines.contains("side | side from file C="), "\(fromFile.stdout)\n\(fromFile.stderr)")
        #expect(fromFile.lines.contains("app | default A=from-definition B="), "\(fromFile.stdout)")

        // Recorded as RunTask records them.
        let tasks = try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue ?? []
        let overridden = tasks.first { task in
            task["overrides"]?["containerOverrides"]?.arrayValue?.contains { $0["name"]?.stringValue == "app" && $0["command"] != nil } == true
        }
        let app = overridden?["overrides"]?["containerOverrides"]?.arrayValue?.first { $0["name"]?.stringValue == "app" }
        #expect(app?["command"] == .array([.string("sh"), .string("-c"), .string("echo overridden A=$A B=$B")]), "\(tasks)")
        let environment = (app?["environment"]?.arrayValue ?? []).map { pair in "\(pair["name"]?.stringValue ?? "")=\(pair["value"]?.stringValue ?? "")" }
        #expect(environment == ["B=kept", "A=from-env"], "\(String(describing: app))")

        // Refused, in RunTask's words and with the JSON path, before a revision is registered.
        let fresh = cli.stateDirectory.appendingPathComponent("fresh.json")
        try
            #"{"family": "never-registered", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "x", "command": ["true"]}]}"#
            .write(to: fresh, atomically: true, encoding: .utf8)
        let refusals: [([String], String)] = [
            (
                ["--overrides", #"{"containerOverrides": [{"name": "ghost"}]}"#],
                "Override for container named ghost is not a container in the TaskDefinition. (overrides.containerOverrides[0].name) (RunTask: InvalidParameterException)"
            ),
            (
                ["--overrides", #"{"cpu": "256", "memory": "4096"}"#],
                "No Fargate configuration exists for given values: 256 CPU, 4096 memory. (RunTask: ClientException)"
            ),
            (["--overrides", #"{"containerOverrides": [{"name": "app", "command": "true"}]}"#], "overrides.containerOverrides[0].command:"),
            (["--overrides", "{not json"], "--overrides: not valid JSON (line 1, column 2"),
            (["--overrides", "file:///nonexistent/overrides.json"], "--overrides file:///nonexistent/overrides.json: cannot read the file"),
            (["--capacity-provider", "FARGATE_CHEAP"], "--capacity-provider must be FARGATE or FARGATE_SPOT"),
        ]
        for (arguments, message) in refusals {
            let refused = try await cli.run(["run", "--wait", "--runtime", "process", fresh.path] + arguments)
            #expect(refused.status == 125 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
        #expect(try await cli.run(["taskdefs", "never-registered", "--all"]).status != 0, "a refused run registered its definition")
        let after = try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue ?? []
        #expect(after.count == 3, "only the three runs above ran")
    }

    /// `wait` waits for detached tasks to stop and gives their exit codes as `run --wait`
    /// would have (one per line, in order), exiting with the first non-zero one; a stopped
    /// task answers at once, and an unknown one is an error.
    @Test func waitGivesDetachedTasksExitCodes() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let failing = try await cli.run(["run", "--runtime", "process", "Tests/Fixtures/run/essential-exit.json"])
        let brief = try await cli.run(["run", "--runtime", "process", "Tests/Fixtures/run/brief.json", "--env", "PAUSE=1"])
        let failingID = failing.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let briefID = brief.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(failing.status == 0 && brief.status == 0 && failingID.count == 32 && briefID.count == 32, "\(failing.stderr)\n\(brief.stderr)")
        let both = try await cli.run(["wait", briefID, String(failingID.prefix(8))])
        #expect(both.status == 3 && both.stdout == "0\n3\n", "\(both.stdout)\n\(both.stderr)")
        let described = try JSONParser.parse(try await cli.run(["describe", briefID]).stdout)
        #expect(described["tasks"]?.arrayValue?.first?["lastStatus"] == .string("STOPPED"), "wait returned before the task stopped")
        let again = try await cli.run(["wait", briefID])
        #expect(again.status == 0 && again.stdout == "0\n", "\(again.stdout)\n\(again.stderr)")
        let unknown = try await cli.run(["wait", "ffffffff"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no task matches \"ffffffff\""), "\(unknown.stderr)")
    }

    /// `logs --tail N` starts with each container's last N events, merged by time as `logs`
    /// merges them.
    @Test func logsTailStartsWithEachContainersLastEvents() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let run = try await cli.run(["run", "--wait", "-q", "--runtime", "process", "Tests/Fixtures/run/three-streams.json"])
        #expect(run.status == 0, "\(run.stderr)")
        let id = try #require(try await cli.run(["ps", "-a", "-q"]).lines.first)
        let last = try await cli.run(["logs", id, "--tail", "2"])
        #expect(last.status == 0, "\(last.stderr)")
        #expect(
            Set(last.lines.filter { !$0.isEmpty }) == [
                "a | a line 2998", "a | a line 2999", "b | b line 2998", "b | b line 2999", "c | c line 2998", "c | c line 2999",
            ],
            "\(last.stdout)")
        let one = try await cli.run(["logs", id, "--tail", "1", "--container", "b"])
        #expect(one.stdout == "b line 2999\n", "\(one.stdout)")
        let none = try await cli.run(["logs", id, "--tail", "0"])
        #expect(none.status == 0 && none.stdout.isEmpty, "\(none.stdout)")
        let negative = try await cli.run(["logs", id, "--tail=-1"])
        #expect(negative.status != 0 && negative.stderr.contains("--tail -1: expected a number of events, 0 or more"), "\(negative.stderr)")

        // A stream grouped into multi-line events (awslogs-multiline-pattern): --tail counts
        // those events, not lines.
        #expect(try await cli.run(["run", "--wait", "-q", "--runtime", "process", "Tests/Fixtures/run/multiline-logs.json"]).status == 0)
        let groupedID = try #require(try await cli.run(["ps", "-a", "-q"]).lines.first)
        let grouped = try await cli.run(["logs", groupedID, "--container", "java", "--tail", "2"])
        #expect(grouped.stdout == "2026-11-27 ERROR boom\n  at Frame.one\n  at Frame.two\n2026-11-27 INFO done\n", "\(grouped.stdout)")
    }

    /// As on ECS, only a task with a task role gets the container credentials endpoint: a
    /// task without one has no AWS_CONTAINER_CREDENTIALS_* variables, so an SDK inside it
    /// finds no credentials here either.
    @Test func onlyATaskWithATaskRoleGetsCredentials() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        var seen: [String: String] = [:]
        for (family, role) in [("no-role", ""), ("with-role", ", \"taskRoleArn\": \"arn:aws:iam::000000000000:role/app\"")] {
            let file = cli.stateDirectory.appendingPathComponent("\(family).json")
            try
                #"{"family": "\#(family)", "networkMode": "awsvpc", "cpu": "256", "memory": "512"\#(role), "containerDefinitions": [{"name": "c", "image": "x", "command": ["sh", "-c", "env | grep -o '^AWS_CONTAINER_[A-Z_]*' | sort | tr '\\n' ' '; echo"]}]}"#
                .write(to: file, atomically: true, encoding: .utf8)
            let r = try await cli.run(["run", "--wait", "-q", "--runtime", "process", file.path])
            #expect(r.status == 0, "\(r.stderr)")
            seen[family] = r.stdout
        }
        #expect(seen["no-role"] == "c | \n", "\(seen)")
        #expect(seen["with-role"] == "c | AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_CREDENTIALS_FULL_URI \n", "\(seen)")
    }

    /// `ps -q`: task ids only, for scripts (`fargate-local stop $(fargate-local ps -q)`).
    @Test func psQuietListsIdsForScripts() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        var ids: [String] = []
        for _ in 0..<2 {
            ids.append(
                try await cli.run(["run", "--runtime", "process", "Tests/Fixtures/run/long-running.json"]).stdout.trimmingCharacters(
                    in: .whitespacesAndNewlines))
        }
        let running = try await cli.run(["ps", "-q"])
        #expect(Set(running.stdout.split(separator: "\n").map(String.init)) == Set(ids), "\(running.stdout)")
        let stop = try await cli.run(["stop", "--wait"] + running.stdout.split(separator: "\n").map(String.init))
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try await cli.run(["ps", "-q"]).stdout.isEmpty)
        #expect(try await cli.run(["ps", "-aq"]).stdout.split(separator: "\n").count == 2)
        // A task whose health checks pass shows it, as `docker ps` does.
        let healthy = cli.stateDirectory.appendingPathComponent("healthy.json")
        try
            #"{"family": "healthy", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "web", "image": "x", "command": ["sleep", "30"], "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#
            .write(to: healthy, atomically: true, encoding: .utf8)
        let healthyID = try await cli.run(["run", "--runtime", "process", healthy.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var table = ""
        for _ in 0..<100 where !table.contains("RUNNING (healthy)") {
            try await Task.sleep(for: .milliseconds(100))
            table = try await cli.run(["ps"]).stdout
        }
        #expect(table.split(separator: "\n").contains { $0.hasPrefix(String(healthyID.prefix(12))) && $0.contains("RUNNING (healthy)") }, "\(table)")
        _ = try await cli.run(["stop", "--wait", "--time", "1", healthyID])
        let refused = try await cli.run(["ps", "-q", "--output", "json"])
        #expect(refused.status != 0 && refused.stderr.contains("-q prints task ids only"), "\(refused.stderr)")
    }
}
