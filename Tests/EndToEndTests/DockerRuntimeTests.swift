import ECSModel
import Foundation
import TestSupport
import Testing

/// The Docker runtime on a real engine. These tests fail (never skip) when no engine
/// answers: the README's test command and CI install and start one.
@Suite(.serialized)
struct DockerRuntimeTests {
    func requireDocker() async throws { try await DockerRequirement.engine() }

    func run(_ cli: CLIHarness, _ file: String, _ extra: [String] = []) async throws -> CLIHarness.Result {
        try await cli.run(["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/\(file)"] + extra)
    }

    func report(_ path: String) throws -> JSONValue { try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) }

    func exitCodes(_ report: JSONValue) -> [String: JSONValue] {
        guard case let .array(containers)? = report["containers"] else { return [:] }
        return Dictionary(uniqueKeysWithValues: containers.compactMap { c in c["name"]?.stringValue.map { ($0, c["exitCode"] ?? .null) } })
    }

    /// A log stream that cannot be written (here its disk, a 1 MiB tmpfs, fills with 2.6 MB of
    /// output): the lines that do not fit are lost, `run` says so once and sees the task to its
    /// end with its exit code. Before, the first failed write trapped, and the task ran on with
    /// no supervisor. Needs root (mount), as CI runs.
    @Test func aFullLogDiskLosesLinesNotTheTask() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.withSmallLogDisk { try await run(cli, "floods-its-log.json", ["-q"]) }
        #expect(r.status == 5, "\(r.stderr)")
        let warnings = r.stderr.components(separatedBy: "log stream cannot be written").count - 1
        #expect(warnings == 1, "said once: \(r.stderr)")
        let printed = r.stdout.split(separator: "\n")
        #expect(
            printed.count == 400_001 && printed.contains("flood | 400000") && printed.contains("flood | done"),
            "every line still reaches run's stdout: \(printed.count) lines")
        let task = try #require(try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue?.first)
        #expect(task["lastStatus"]?.stringValue == "STOPPED" && task["stopCode"]?.stringValue == "EssentialContainerExited", "\(task.serialized())")
    }

    @Test func containersOfATaskShareOneNetworkNamespace() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        // Two tasks at once: each server binds 127.0.0.1:7777 in its own namespace.
        async let first = run(cli, "shared-netns.json")
        async let second = run(cli, "shared-netns.json")
        let results = try await [first, second]
        var namespaces: [Substring] = []
        for r in results {
            #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.stdout.contains("client | pong from server"))
            let server = r.lines.first { $0.hasPrefix("server | server-ns=") }?.split(separator: "=").last
            let client = r.lines.first { $0.hasPrefix("client | client-ns=") }?.split(separator: "=").last
            #expect(server != nil && server == client, "\(r.stdout)")
            if let client { namespaces.append(client) }
        }
        #expect(namespaces.count == 2 && namespaces[0] != namespaces[1], "\(namespaces)")
        let host = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")).map { Substring($0) }
        #expect(!namespaces.contains { $0 == host })
    }

    @Test func essentialExitStopsSiblingsWithTheirStopTimeout() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let path = cli.stateDirectory.appendingPathComponent("r.json").path
        let r = try await run(cli, "essential-exit.json", ["--report", path])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("polite | polite: got SIGTERM"))
        #expect(r.stdout.contains("stubborn | stubborn: ignoring SIGTERM"))
        let doc = try report(path)
        #expect(doc["stopCode"] == .string("EssentialContainerExited"))
        #expect(exitCodes(doc) == ["main": .number("3"), "polite": .number("0"), "stubborn": .number("137")])
    }

    @Test func outOfMemoryIsExit137WithEcsReason() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let path = cli.stateDirectory.appendingPathComponent("r.json").path
        let r = try await run(cli, "oom.json", ["--report", path])
        #expect(r.status == 137, "\(r.stdout)\n\(r.stderr)")
        #expect(!r.stdout.contains("records in"), "dd finished: \(r.stdout)")
        guard case let .array(containers)? = try report(path)["containers"] else {
            Issue.record("no containers")
            return
        }
        #expect(containers.first?["reason"] == .string("OutOfMemoryError: Container killed due to memory usage"))
        // A container override's memory replaces the definition's, as RunTask's does: 400 MiB
        // holds the 256 MiB (the task's 512 MiB stays the ceiling).
        let roomier = try await run(cli, "oom.json", ["-q", "--overrides", #"{"containerOverrides": [{"name": "hog", "memory": 400}]}"#])
        #expect(roomier.status == 0 && roomier.stdout.contains("records in"), "\(roomier.stdout)\n\(roomier.stderr)")
    }

    /// Task memory (512) is one ceiling over the task's containers, as on Fargate: each
    /// container alone fits (300 MiB), the two together do not, so one is OOM-killed.
    @Test func taskMemoryIsOneCeilingOverItsContainers() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let path = cli.stateDirectory.appendingPathComponent("r.json").path
        let r = try await run(cli, "task-ceiling.json", ["--report", path])
        #expect(!r.stderr.contains("not as one ceiling"), "\(r.stderr)")
        #expect(r.status != 0, "\(r.stdout)\n\(r.stderr)")
        let doc = try report(path)
        #expect(doc["stopCode"] == .string("EssentialContainerExited"))
        guard case let .array(containers)? = doc["containers"] else {
            Issue.record("no containers")
            return
        }
        let killed = containers.filter { $0["reason"] == .string("OutOfMemoryError: Container killed due to memory usage") }
        #expect(killed.count == 1, "\(containers)")
        #expect(killed.first?["exitCode"] == .number("137"))
        // The task's cgroup went with the task.
        let id = String((doc["taskArn"]?.stringValue ?? "").split(separator: "/").last ?? "")
        #expect(!id.isEmpty && !FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/fargate-local/\(id.prefix(12))"))
    }

    /// A scratch volume is a Docker volume of the task's: it starts with what the image holds
    /// at the first mount path (as on Fargate), is shared by the task's containers, honours
    /// readOnly, and is removed with the task.
    @Test func scratchVolumeIsATaskDockerVolume() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let path = cli.stateDirectory.appendingPathComponent("r.json").path
        let r = try await run(cli, "scratch.json", ["--report", path])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("reader | reader sees: apt.conf.d "), "\(r.stdout)")
        #expect(r.stdout.contains(" listing "), "\(r.stdout)")
        #expect(r.stdout.contains("reader | read-only"))
        let id = String((try report(path)["taskArn"]?.stringValue ?? "").split(separator: "/").last ?? "")
        let left = try await Command.run("docker", ["volume", "ls", "-q", "--filter", "label=dev.fargate-local.task-id=\(id)"])
        #expect(!id.isEmpty && left.status == 0 && left.stdout.isEmpty, "volumes left behind: \(left.stdout)")
    }

    /// healthCheck becomes Docker's own health check with ECS's parameters; its results,
    /// followed on the engine's /events, make the container HEALTHY and release its dependant.
    @Test func healthCheckIsDockersOwnAndDrivesDependsOn() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let path = cli.stateDirectory.appendingPathComponent("r.json").path
        let r = try await run(cli, "health.json", ["--keep-containers", "--report", path])
        let id = String((try report(path)["taskArn"]?.stringValue ?? "").split(separator: "/").last ?? "")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let healthy = r.stderr.range(of: "container db is HEALTHY")
        let appStarted = r.stderr.range(of: "container app started")
        #expect(healthy != nil && appStarted != nil && healthy!.lowerBound < appStarted!.lowerBound, "\(r.stderr)")
        guard case let .array(containers)? = try report(path)["containers"] else {
            Issue.record("no containers")
            return
        }
        #expect(containers.first { $0["name"] == .string("db") }?["healthStatus"] == .string("HEALTHY"))
        let config = try await Command.run(
            "docker", ["ps", "-aq", "--filter", "label=dev.fargate-local.task-id=\(id)", "--filter", "label=com.amazonaws.ecs.container-name=db"])
        let inspect = try await Command.run(
            "docker", ["inspect", "-f", "{{json .Config.Healthcheck}}", config.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
        #expect(
            inspect.stdout.contains(#""Test":["CMD-SHELL","test -f /tmp/ready"],"Interval":5000000000,"Timeout":2000000000,"Retries":1"#), "\(inspect.stdout)")
        _ = try await Command.run("/bin/sh", ["-c", "docker rm -f $(docker ps -aq --filter label=dev.fargate-local.task-id=\(id)) >/dev/null 2>&1"])
    }

    @Test func efsVolumeWrittenByOneTaskIsReadByTheNext() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let w = try await run(cli, "efs-writer.json")
        #expect(w.status == 0, "\(w.stdout)\n\(w.stderr)")
        let r = try await run(cli, "efs-reader.json")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("reader | written-by-task-one"))
        #expect(r.stdout.contains("reader | read-only"))
        #expect(FileManager.default.fileExists(atPath: cli.stateDirectory.appendingPathComponent("efs/fs-dockertest/shared/note").path))
    }

    @Test func metadataAndCredentialsAreReachedAt169_254_170_2() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "endpoints.json")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("c | {\"Cluster\":\"arn:aws:ecs:us-east-1:000000000000:cluster/default\",\"TaskARN\""), "\(r.stdout)")
        #expect(r.stdout.contains("c | {\"AccessKeyId\":\"AKIAFARGATELOCAL0000\""))
        #expect(r.stdout.contains("c | {\"__type\":\"AccessDenied\""))
        // What a container reaches there is what the ECS agent serves, not the controller's APIs.
        #expect(r.stdout.contains("c | {\"__type\":\"AccessDeniedException\",\"message\":\"This is the"), "\(r.stdout)")
        // Other tasks may be starting and stopping in parallel: a rule whose container is gone
        // may be seen for a moment, but a leaked one stays. Poll until none is orphaned.
        var orphaned: [String] = []
        for _ in 0..<25 {
            let running = try await Command.run("/bin/sh", ["-c", "docker ps -q | xargs -r docker inspect -f '{{.NetworkSettings.MacAddress}}'"])
            let rules = try await Command.run("iptables", ["-t", "nat", "-S", "PREROUTING"])
            orphaned = rules.stdout.split(separator: "\n").filter { $0.contains("169.254.170.2") }.compactMap { line -> String? in
                let parts = line.split(separator: " ")
                return parts.firstIndex(of: "--mac-source").map { String(parts[$0 + 1]).lowercased() }
            }.filter { !running.stdout.lowercased().contains($0) }
            if orphaned.isEmpty { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(orphaned.isEmpty, "DNAT rules left behind for \(orphaned)")
    }

    /// The metadata endpoint's Docker-only facts, as Fargate gives them: the image's id, the
    /// task's own address and MAC (the pause container's, for a task of two), and Docker's
    /// stats with `precpu_stats` for one container and for the whole task.
    @Test func metadataGivesTheEnginesImageAddressAndStats() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "metadata.json")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        func line(_ prefix: String) -> String? {
            r.stdout.split(separator: "\n").first { $0.hasPrefix("app | \(prefix) ") }.map { String($0.dropFirst("app | \(prefix) ".count)) }
        }
        func json(_ prefix: String) -> JSONValue? { line(prefix).flatMap { try? JSONParser.parse(Array($0.utf8)) } }
        let seen = line("ip")?.split(separator: " ").map(String.init) ?? []
        #expect(seen.count == 3 && seen[1] == "mac", "\(r.stdout)")
        #expect(r.stderr.contains("task network interface attached: \(seen.first ?? "?") (ip-"), "\(r.stderr)")
        let imageID = try await Command.run("docker", ["image", "inspect", "-f", "{{.Id}}", "debian:bookworm-slim"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let subnet = try await Command.run("docker", ["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "bridge"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let meta = json("meta")
        #expect(meta?["ImageID"]?.stringValue == imageID, "\(r.stdout)")
        #expect(meta?["DockerName"]?.stringValue == "app")
        // No health check, no Health (ECS's DescribeTasks says UNKNOWN; the metadata leaves it out).
        #expect(meta?["Health"] == nil, "\(line("meta") ?? "")")
        let network = meta?["Networks"]?.arrayValue?.first
        #expect(network?["IPv4Addresses"]?.arrayValue?.first?.stringValue == seen.first, "\(r.stdout)")
        #expect(network?["MACAddress"]?.stringValue == seen.last)
        #expect(network?["IPv4SubnetCIDRBlock"]?.stringValue == subnet)
        // The 3 MiB the container wrote to its filesystem show in the task's ephemeral storage.
        let storage = json("task")?["EphemeralStorageMetrics"]
        #expect((storage?["Utilized"]?.intValue ?? 0) >= 3 && storage?["Reserved"]?.intValue == 20480, "\(line("task") ?? r.stdout)")
        let stats = json("stats")
        #expect((stats?["memory_stats"]?["usage"]?.doubleValue ?? 0) > 0, "\(line("stats") ?? r.stdout)")
        #expect((stats?["cpu_stats"]?["cpu_usage"]?["total_usage"]?.doubleValue ?? 0) > 0)
        #expect((stats?["precpu_stats"]?["cpu_usage"]?["total_usage"]?.doubleValue ?? 0) > 0, "no previous sample: \(line("stats") ?? "")")
        #expect((stats?["pids_stats"]?["current"]?.doubleValue ?? 0) >= 1)
        guard case let .object(task)? = json("taskstats") else {
            Issue.record("no task stats: \(r.stdout)")
            return
        }
        #expect(task.count == 2)
        for (key, value) in task {
            #expect((value["memory_stats"]?["usage"]?.doubleValue ?? 0) > 0, "\(key): \(value.serialized())")
        }
    }

    /// `pidMode: task` joins the task's containers in one PID namespace; `systemControls`
    /// reach the kernel: `net.*` ones (of any container) on the task's network namespace,
    /// others on their container. What fargate-local does not apply is said, not ignored.
    @Test func pidModeTaskAndSystemControls() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let shared = try await run(cli, "pid-sysctl.json")
        #expect(shared.status == 0, "\(shared.stdout)\n\(shared.stderr)")
        #expect(shared.stdout.contains("app | keepalive=123 shmmax=123456789 side-visible=1"), "\(shared.stdout)\n\(shared.stderr)")
        // The same task without pidMode: each container has its own PID namespace.
        let text = try String(contentsOfFile: "Tests/Fixtures/docker/pid-sysctl.json", encoding: .utf8)
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let privatePIDs = cli.stateDirectory.appendingPathComponent("pid-private.json")
        try text.replacingOccurrences(of: "\"pidMode\": \"task\",", with: "").replacingOccurrences(of: "docker-pid-sysctl", with: "docker-pid-private")
            .write(to: privatePIDs, atomically: true, encoding: .utf8)
        let separate = try await cli.run(["run", "--wait", "--runtime", "docker", privatePIDs.path])
        #expect(separate.stdout.contains("app | keepalive=123 shmmax=123456789 side-visible=0"), "\(separate.stdout)\n\(separate.stderr)")
        // A task of one container holds its own network namespace: its net.* sysctls are its own.
        let solo = cli.stateDirectory.appendingPathComponent("solo.json")
        try
            #"{"family": "docker-solo-sysctl", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "solo", "image": "debian:bookworm-slim", "systemControls": [{"namespace": "net.ipv4.tcp_keepalive_time", "value": "77"}], "command": ["cat", "/proc/sys/net/ipv4/tcp_keepalive_time"]}]}"#
            .write(to: solo, atomically: true, encoding: .utf8)
        let one = try await cli.run(["run", "--wait", "--runtime", "docker", solo.path])
        #expect(one.stdout.contains("solo | 77"), "\(one.stdout)\n\(one.stderr)")
    }

    /// As on Fargate, a task's address is in its ENI attachment (and each container's
    /// networkInterfaces), the way CI scripts find a task to talk to: the host reaches it there.
    @Test func taskAddressIsInItsNetworkInterfaceAttachment() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let started = try await cli.run(["run", "--runtime", "docker", "Tests/Fixtures/docker/publish.json"])
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(started.status == 0 && id.count == 32, "\(started.stderr)")
        func task() async throws -> JSONValue? {
            guard case let .array(tasks)? = try JSONParser.parse(try await cli.run(["describe", id]).stdout)["tasks"] else { return nil }
            return tasks.first
        }
        func attachment(_ task: JSONValue?) -> (status: String?, details: [String: String]) {
            guard case let .array(list)? = task?["attachments"], let a = list.first, case let .array(details)? = a["details"] else { return (nil, [:]) }
            var out: [String: String] = [:]
            for d in details { if let n = d["name"]?.stringValue, let v = d["value"]?.stringValue { out[n] = v } }
            return (a["status"]?.stringValue, out)
        }
        var running = try await task()
        for _ in 0..<100 where attachment(running).status != "ATTACHED" {
            try await Task.sleep(for: .milliseconds(100))
            running = try await task()
        }
        let (status, details) = attachment(running)
        #expect(status == "ATTACHED", "\(running?.serialized() ?? "no task")")
        let address = try #require(details["privateIPv4Address"])
        #expect(details["privateDnsName"] == "ip-\(address.replacingOccurrences(of: ".", with: "-")).ec2.internal")
        #expect(details["macAddress"]?.count == 17)
        if case let .array(containers)? = running?["containers"] {
            #expect(containers.first?["networkInterfaces"]?.serialized().contains(address) == true)
        }
        let table = try await cli.run(["ps"])
        #expect(
            table.stdout.contains("ADDRESS") && table.stdout.split(separator: "\n").contains { $0.hasPrefix(String(id.prefix(12))) && $0.contains(address) },
            "\(table.stdout)")
        // Not published: the host reaches the task at its own address.
        var answer = ""
        for _ in 0..<50 where answer.isEmpty {
            answer = try await Command.run("curl", ["-s", "--http0.9", "--max-time", "1", "\(address):7781"]).stdout
            if answer.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answer == "published\n")
        // exec: a command in the running container, its streams apart, its exit code exec's.
        let exec = try await cli.run(["exec", id, "--", "sh", "-c", "cat /etc/debian_version; echo to-stderr >&2; exit 7"])
        #expect(exec.status == 7, "\(exec.stdout)\n\(exec.stderr)")
        #expect(exec.stdout.hasPrefix("12."), "\(exec.stdout)")
        #expect(exec.stderr.contains("to-stderr") && !exec.stdout.contains("to-stderr"))
        let missing = try await cli.run(["exec", id, "--", "no-such-command"])
        #expect(missing.status == 126, "\(missing.stderr)")
        // exec's stdin reaches the command, to its end (the command sees EOF after it).
        let piped = try await Command.run(
            "/bin/sh",
            [
                "-c", "printf 'one\\ntwo\\n' | \"$0\" exec --state-dir \"$1\" \"$2\" -- sh -c 'wc -l; exit 5'",
                CLIHarness.binary, cli.stateDirectory.path, id,
            ])
        #expect(piped.status == 5 && piped.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(piped.stdout)\n\(piped.stderr)")
        // -t: a terminal in the container (its output through it, CRLF), stdin not a terminal here.
        let withTTY = try await cli.run(["exec", id, "-t", "--", "sh", "-c", "test -t 1 && echo tty-out; exit 2"])
        #expect(withTTY.status == 2 && withTTY.stdout == "tty-out\r\n", "\(withTTY.stdout.debugDescription)\n\(withTTY.stderr)")
        // -it from a terminal (script(1) gives one): the container's terminal takes its size,
        // keys go through, and the terminal is given back out of raw mode.
        let inner =
            "stty rows 30 cols 100; \"$0\" exec --state-dir \"$1\" -it \"$2\" -- sh -c "
            + "'for i in $(seq 50); do s=$(stty size); [ \"$s\" != \"0 0\" ] && break; sleep 0.1; done; echo size=$s; test -t 0 && echo in-tty'; stty -a"
        let scripted = try await Command.run(
            "script",
            [
                "-qec", "sh -c '\(inner.replacingOccurrences(of: "'", with: "'\\''"))' \"\(CLIHarness.binary)\" \"\(cli.stateDirectory.path)\" \"\(id)\"",
                "/dev/null",
            ])
        #expect(scripted.stdout.contains("size=30 100") && scripted.stdout.contains("in-tty"), "\(scripted.stdout)\n\(scripted.stderr)")
        #expect(scripted.stdout.contains(" icanon") && !scripted.stdout.contains("-icanon"), "the terminal stayed raw: \(scripted.stdout)")
        // A window resize here (SIGWINCH) resizes the container's terminal.
        let resizing =
            "stty rows 30 cols 100; t=$(tty); (sleep 1; stty -F $t rows 40 cols 120) & \"$0\" exec --state-dir \"$1\" -it \"$2\" -- sh -c "
            + "'for i in $(seq 100); do s=$(stty size); [ \"$s\" = \"40 120\" ] && break; sleep 0.1; done; echo resized=$s'"
        let resized = try await Command.run(
            "script",
            [
                "-qec", "sh -c '\(resizing.replacingOccurrences(of: "'", with: "'\\''"))' \"\(CLIHarness.binary)\" \"\(cli.stateDirectory.path)\" \"\(id)\"",
                "/dev/null",
            ])
        #expect(resized.stdout.contains("resized=40 120"), "\(resized.stdout)\n\(resized.stderr)")
        _ = try await cli.run(["stop", id, "--wait"])
        let afterwards = try await cli.run(["exec", id, "--", "true"])
        #expect(afterwards.status == 1 && afterwards.stderr.contains("is not running"), "\(afterwards.stderr)")
        let stopped = attachment(try await task())
        #expect(stopped.status == "DELETED")
        #expect(stopped.details["privateIPv4Address"] == address)
    }

    /// `pseudoTerminal` gives the container a terminal (its output one stream, lines without
    /// their CR); `interactive` keeps its stdin open, so a read waits instead of seeing EOF.
    /// The process runtime does neither, and says so.
    @Test func pseudoTerminalAndInteractive() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "tty.json")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("c | stdout is a terminal\n"), "\(r.stdout)")
        #expect(r.stdout.contains("c | read timed out\n"), "\(r.stdout)")
        #expect(r.stdout.contains("c | to stderr\n"), "\(r.stdout)")
        #expect(!r.stderr.contains("pseudoTerminal"), "\(r.stderr)")
        let process = try await cli.run(["run", "--wait", "--runtime", "process", "Tests/Fixtures/docker/tty.json"])
        #expect(process.stdout.contains("c | stdout is a pipe\n") && process.stdout.contains("c | stdin ended\n"), "\(process.stdout)")
        #expect(process.stderr.contains("warning: container c: pseudoTerminal and interactive are not applied in the process runtime"), "\(process.stderr)")
    }

    @Test func publishedPortsAndCappedUlimits() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        // Start the task in the background, reach its published port from the host, then collect its output.
        let script = """
            "$0" run --wait --runtime docker --publish --state-dir "$1" Tests/Fixtures/docker/publish.json > "$1/out" 2>&1 & pid=$!
            for i in $(seq 1 100); do r=$(curl -s --http0.9 --max-time 1 127.0.0.1:7781) && [ -n "$r" ] && echo "host got: $r" && break; sleep 0.1; done
            "$0" stop --state-dir "$1" $("$0" ps --state-dir "$1" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["taskArn"])') >/dev/null
            wait $pid; echo "exit=$?"; cat "$1/out"
            """
        let r = try await Command.run("/bin/sh", ["-c", script, CLIHarness.binary, cli.stateDirectory.path], workingDirectory: CLIHarness.repository.path)
        #expect(r.stdout.contains("host got: published"), "\(r.stdout)")
        // perl runs as PID 1 and ignores SIGTERM (as it would on ECS): SIGKILL after stopTimeout.
        #expect(r.stdout.contains("exit=137"), "\(r.stdout)")
        #expect(
            r.stdout.contains(
                "web | nofile=\(Int(try await Command.run("/bin/sh", ["-c", "ulimit -Hn"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1)"),
            "\(r.stdout)")
        #expect(r.stdout.contains("warning: container web: ulimit nofile 1048576 is above this host's hard limit"))
    }

    /// Containers of a stopped task that the engine could not remove (it was down as the
    /// task stopped) are removed when `serve` starts; a task run with --keep-containers
    /// keeps its containers.
    @Test func serveRemovesContainersLeftByStoppedTasks() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        func taskIDs() async throws -> [String] {
            try await cli.run(["ps", "-aq"]).stdout.split(separator: "\n").map(String.init)
        }
        let kept = try await cli.run(["run", "--wait", "-q", "--keep-containers", "--runtime", "docker", "Tests/Fixtures/docker/nofile-default.json"])
        #expect(kept.status == 0, "\(kept.stderr)")
        let keptID = try #require(try await taskIDs().first)
        let plain = try await cli.run(["run", "--wait", "-q", "--runtime", "docker", "Tests/Fixtures/docker/nofile-default.json"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let plainID = try #require(try await taskIDs().first { $0 != keptID })
        // What an engine outage would have left: a container of the stopped task.
        let left = try await Command.run("docker", ["create", "--label", "dev.fargate-local.task-id=\(plainID)", "debian:bookworm-slim", "true"])
        let leftID = left.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(left.status == 0, "\(left.stderr)")
        func containers(of task: String) async throws -> [String] {
            try await Command.run("docker", ["ps", "-aq", "--filter", "label=dev.fargate-local.task-id=\(task)"]).stdout.split(separator: "\n").map(String.init)
        }
        let keptContainers = try await containers(of: keptID)
        #expect(!keptContainers.isEmpty)
        let port = LocalServers.freePort()
        try await cli.startBackgroundServe(port: port, runtime: "docker")
        // The sweep is done before serve says it is serving.
        var log = ""
        for _ in 0..<100 where !log.contains("fargate-local: serving") {
            try await Task.sleep(for: .milliseconds(100))
            log = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("serve.out"), encoding: .utf8)) ?? ""
        }
        try await cli.killBackgroundServe()
        #expect(log.contains("removed 1 container(s) left by stopped task \(plainID)"), "\(log)")
        #expect(try await containers(of: plainID).isEmpty)
        #expect(try await containers(of: keptID) == keptContainers, "--keep-containers kept them")
        _ = try await Command.run("docker", ["rm", "-f", leftID] + keptContainers)
    }

    /// A container that sets no nofile ulimit gets Fargate's, 65535 soft and hard (capped at
    /// this host's hard limit), not whatever the engine's default is.
    @Test func nofileDefaultsToFargates() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let hostHard = Int(try await Command.run("/bin/sh", ["-c", "ulimit -Hn"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? Int.max
        let expected = min(65535, hostHard)
        let r = try await cli.run(["run", "--wait", "-q", "--keep-containers", "--runtime", "docker", "Tests/Fixtures/docker/nofile-default.json"])
        #expect(r.status == 0 && r.stdout == "c | nofile \(expected) \(expected)\n", "\(r.stdout)\n\(r.stderr)")
        // Set on the container, not left to the engine (whose default here may be the same).
        let arn = try #require(
            JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue?.first?["taskArn"]?.stringValue)
        let ids = try await Command.run("docker", ["ps", "-aq", "--filter", "label=com.amazonaws.ecs.task-arn=\(arn)"]).stdout.split(separator: "\n").map(
            String.init)
        let limits = try await Command.run("docker", ["inspect", "--format", "{{json .HostConfig.Ulimits}}"] + ids)
        _ = try await Command.run("docker", ["rm", "-f"] + ids)
        #expect(
            limits.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[{\"Name\":\"nofile\",\"Hard\":\(expected),\"Soft\":\(expected)}]",
            "\(limits.stdout)")
    }

    /// Regression: Docker's wait and log follow are long polls; a container silent for longer
    /// than libcurl's stall guard (30 s) must still be followed to its exit.
    @Test func aLongSilentContainerIsFollowedToItsExit() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "quiet.json")
        #expect(r.status == 5, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("quiet | after a long silence"))
    }

    @Test func missingImageIsCannotPullContainerError() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "missing-image.json")
        #expect(r.status == 125)
        #expect(r.stderr.contains("CannotPullContainerError:"), "\(r.stderr)")
    }

    @Test func containersCarryEcsLabelsAndAreRemovedAfterTheTask() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let path = cli.stateDirectory.appendingPathComponent("r.json").path
        let kept = try await run(cli, "efs-writer.json", ["--keep-containers", "--report", path])
        #expect(kept.status == 0)
        let arn = try #require(try report(path)["taskArn"]?.stringValue)
        let id = String(arn.split(separator: "/").last ?? "")
        let labels = try await Command.run(
            "docker",
            [
                "ps", "-a", "--filter", "label=dev.fargate-local.task-id=\(id)", "--format",
                "{{.Label \"com.amazonaws.ecs.container-name\"}} {{.Label \"com.amazonaws.ecs.task-arn\"}} {{.Label \"com.amazonaws.ecs.task-definition-family\"}}",
            ])
        #expect(labels.stdout.contains("writer \(arn) docker-efs-writer"), "\(labels.stdout)")
        _ = try await Command.run("/bin/sh", ["-c", "docker rm -f $(docker ps -aq --filter label=dev.fargate-local.task-id=\(id)) >/dev/null 2>&1"])

        let removed = try await run(cli, "efs-writer.json", ["--report", path])
        #expect(removed.status == 0)
        let id2 = String((try report(path)["taskArn"]?.stringValue ?? "").split(separator: "/").last ?? "")
        let left = try await Command.run("docker", ["ps", "-aq", "--filter", "label=dev.fargate-local.task-id=\(id2)"])
        #expect(left.stdout.isEmpty, "containers left behind: \(left.stdout)")
    }
}

/// The bundled task in its real container (fargate-local/zip-task:latest), against moto.
@Suite(.serialized)
struct ZipTaskContainerTests {
    @Test func bundledZipTaskRunsInItsContainer() async throws {
        try await DockerRuntimeTests().requireDocker()
        let image = try await Command.run("docker", ["image", "inspect", "fargate-local/zip-task:latest"])
        guard image.status == 0 else {
            throw LocalServers.ServerError(
                description: "the task image fargate-local/zip-task:latest is missing; run scripts/build-task-image (scripts/test does)")
        }
        let gateway = try await LocalServers.dockerGateway()
        try await LocalServers.withMoto(host: gateway) { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            s.bucket = "zip-export-source"
            defer { s.cleanup() }
            let objects: [(String, [UInt8])] = [
                ("in/a.log", ZipScenario.content(random: false, size: 300_000)),
                ("../../escape.bin", ZipScenario.content(random: true, size: 200_000)),
            ]
            try await s.seed(objects: objects)
            let cli = CLIHarness()
            defer { cli.cleanup() }
            let r = try await cli.run([
                "run", "--wait", "--runtime", "docker", "taskdefs/zip-export.json",
                "--env", "REQUEST_ID=\(s.requestID)", "--env", "AWS_ENDPOINT_URL=\(endpoint)",
                "--env", "AWS_ACCESS_KEY_ID=test", "--env", "AWS_SECRET_ACCESS_KEY=test",
            ])
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.contains("stage=verify msg=\"zip verified\" entries=2"))
            let state = try await s.inspect()
            #expect(state["item"]?.string("status") == "COMPLETED")
            let (_, entries) = try await s.download(try #require(state["item"]?.string("url")))
            #expect(entries.map(\.0) == ["in/a.log", "escape.bin"])
            #expect(FileManager.default.fileExists(atPath: cli.stateDirectory.appendingPathComponent("efs/fs-0zipexport").path))
        }
    }
}

/// A controller restart with Docker tasks running: the containers are re-adopted by label.
@Suite(.serialized)
struct DockerReadoptionTests {
    static let awsEnv = ["AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any", "AWS_DEFAULT_REGION": "us-east-1"]

    func aws(_ endpoint: String, _ args: [String]) async throws -> Command.Output {
        try await Command.run("aws", ["--endpoint-url", endpoint, "--output", "json"] + args, environment: Self.awsEnv)
    }

    @Test func killedControllerReadoptsDockerContainers() async throws {
        try await DockerRuntimeTests().requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let port = LocalServers.freePort()
        let endpoint = "http://127.0.0.1:\(port)"
        try await cli.startBackgroundServe(port: port, runtime: "docker")
        _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/docker/ticker.json"])
        let run = try await aws(endpoint, ["ecs", "run-task", "--task-definition", "docker-ticker"])
        let taskArn = try #require(run.stdout.split(separator: "\"").first { $0.contains(":task/default/") }.map(String.init))
        _ = try await aws(endpoint, ["ecs", "wait", "tasks-running", "--tasks", taskArn])
        try await Task.sleep(for: .milliseconds(600))
        try await cli.killBackgroundServe()
        try await Task.sleep(for: .milliseconds(1200))  // the container keeps ticking with no controller

        try await cli.startBackgroundServe(port: port, runtime: "docker")
        try await cli.killingBackgroundServeAfter {
            try await checkReadopted(cli, endpoint: endpoint, taskArn: taskArn)
        }
    }

    func checkReadopted(_ cli: CLIHarness, endpoint: String, taskArn: String) async throws {
        let described = try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", taskArn])
        #expect(described.stdout.contains("\"lastStatus\": \"RUNNING\""), "\(described.stdout)")
        // The dead controller's 169.254.170.2 rule for this task was replaced by one to this controller.
        let id = String(taskArn.split(separator: "/").last ?? "")
        let hex = Array(id.lowercased().filter(\.isHexDigit).prefix(8))
        let mac = "02:fa:" + stride(from: 0, to: 8, by: 2).map { String(hex[$0..<$0 + 2]) }.joined(separator: ":")
        func rules() async throws -> [Substring] {
            try await Command.run("iptables", ["-t", "nat", "-S", "PREROUTING"]).stdout.split(separator: "\n").filter { $0.lowercased().contains(mac) }
        }
        let routed = try await rules()
        #expect(routed.count == 1, "\(routed)")
        try await Task.sleep(for: .milliseconds(500))
        let stop = try await aws(endpoint, ["ecs", "stop-task", "--task", taskArn, "--reason", "after the restart"])
        #expect(stop.status == 0, "\(stop.stderr)")
        _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", taskArn])
        let final = try JSONParser.parse(try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", taskArn]).stdout)
        guard case let .array(tasks)? = final["tasks"], let task = tasks.first, case let .array(containers)? = task["containers"] else {
            Issue.record("no task")
            return
        }
        #expect(task["stopCode"] == .string("UserInitiated"))
        #expect(task["stoppedReason"] == .string("after the restart"))
        #expect(containers.first?["exitCode"] == .number("0"))
        let unrouted = try await rules()
        #expect(unrouted.isEmpty, "\(unrouted)")
        let events = try JSONParser.parse(
            try await aws(
                endpoint,
                ["logs", "get-log-events", "--log-group-name", "/fargate-local/docker-ticker", "--log-stream-name", "ticker/\(id)", "--start-from-head"]
            ).stdout)
        guard case let .array(list)? = events["events"] else {
            Issue.record("no events")
            return
        }
        let messages = list.compactMap { $0["message"]?.stringValue }
        let ticks = messages.compactMap { $0.hasPrefix("tick ") ? Int($0.dropFirst(5)) : nil }
        #expect(messages.last == "got SIGTERM")
        #expect(ticks.count > 10)
        #expect(ticks == Array(1...(ticks.last ?? 0)), "ticks have gaps or duplicates across the restart: \(ticks)")
        // Each line has the time the engine read it, also those written while no controller ran
        // (not the time the new controller caught up with them): the ticks stay 0.2 s apart.
        let times = list.compactMap { e -> Int64? in e["message"]?.stringValue?.hasPrefix("tick ") == true ? e["timestamp"]?.doubleValue.map { Int64($0) } : nil
        }
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        #expect(times.count == ticks.count && gaps.allSatisfy { $0 >= 50 }, "ticks stamped together (caught up, not as written): \(gaps)")
        let left = try await Command.run("docker", ["ps", "-aq", "--filter", "label=dev.fargate-local.task-id=\(id)"])
        #expect(left.stdout.isEmpty)
    }
}
