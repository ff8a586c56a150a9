import ECSModel
import Foundation
import TestSupport
import Testing

/// `fargate-local serve` driven by the clients users script with: boto3, the aws CLI, SDKs inside tasks.
@Suite(.serialized)
struct APITests {
    /// `errorLog`: a file that gets serve's stderr.
    func withServe<T: Sendable>(_ cli: CLIHarness, _ extra: [String] = [], errorLog: String? = nil, _ body: (String) async throws -> T) async throws -> T {
        let port = LocalServers.freePort()
        return try await LocalServers.withServer(
            CLIHarness.binary, ["serve", "--runtime", "process", "--port", String(port), "--state-dir", cli.stateDirectory.path] + extra,
            port: port, errorLog: errorLog
        ) {
            try await body("http://127.0.0.1:\(port)")
        }
    }

    static let awsEnv = ["AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"]

    func aws(_ endpoint: String, _ args: [String]) async throws -> Command.Output {
        try await Command.run("aws", ["--endpoint-url", endpoint, "--output", "json"] + args, environment: Self.awsEnv)
    }

    @Test func everyOperationParsesWithBoto3() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { endpoint in
            let script = CLIHarness.repository.appendingPathComponent("Tests/Fixtures/api/ecs_api_check.py").path
            let r = try await Command.run("python3", [script, endpoint])
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.contains("OK "), "\(r.stdout)")
            #expect(!r.stdout.contains("FAIL"))
        }
    }

    /// Whoever may RunTask may mount this machine's folders into a task: the APIs answer only
    /// the user running fargate-local, root, and `--allow-user`s; other local users get
    /// AccessDeniedException (the client's socket owner, from /proc/net/tcp). Needs root,
    /// as CI runs, to act as another user (setpriv).
    @Test func apiAnswersOnlyItsOwnUserRootAndAllowedUsers() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        #expect(getuid() == 0, "this test acts as the user nobody through setpriv, which needs root (CI runs as root)")
        let listTasks = { (endpoint: String, user: String?) async throws -> Command.Output in
            let curl = [
                "curl", "-s", "--max-time", "5", "-w", "\n%{http_code}", "-X", "POST", "-H", "X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListTasks",
                "-H", "Content-Type: application/x-amz-json-1.1", "-d", "{}", endpoint + "/",
            ]
            guard let user else { return try await Command.run(curl[0], Array(curl.dropFirst())) }
            return try await Command.run("setpriv", ["--reuid=\(user)", "--regid=\(user)", "--clear-groups"] + curl)
        }
        try await withServe(cli) { endpoint in
            let own = try await listTasks(endpoint, nil)
            #expect(own.stdout == "{\"taskArns\":[]}\n200", "\(own.stdout)")
            let other = try await listTasks(endpoint, "65534")
            #expect(other.stdout.hasSuffix("\n403"), "\(other.stdout)")
            #expect(other.stdout.contains("\"__type\":\"AccessDeniedException\""), "\(other.stdout)")
            #expect(other.stdout.contains("this request came from uid 65534"), "\(other.stdout)")
            // Not the APIs: what a task's processes reach stays open to every user (a process
            // container may run as its definition's user).
            let health = try await Command.run(
                "setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "curl", "-s", "--max-time", "5", endpoint + "/health"])
            #expect(health.stdout == "{\"status\":\"ok\"}", "\(health.stdout)")
        }
        let allowing = CLIHarness()
        defer { allowing.cleanup() }
        try await withServe(allowing, ["--allow-user", "nobody"]) { endpoint in
            let allowed = try await listTasks(endpoint, "65534")
            #expect(allowed.stdout == "{\"taskArns\":[]}\n200", "\(allowed.stdout)")
        }
    }

    /// `serve --host ::1`: its address is written `http://[::1]:PORT`, in what it prints and in
    /// what its tasks' containers are given, so their metadata endpoint answers (before, the
    /// variables read `http://::1:PORT/v4/…`, which no client can parse).
    @Test func serveOnIPv6LoopbackGivesUsableURLs() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let port = LocalServers.freePort()
        let endpoint = "http://[::1]:\(port)"
        try await cli.startBackgroundServe(port: port, runtime: "process", host: "::1")
        try await cli.killingBackgroundServeAfter {
            let out = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("serve.out"), encoding: .utf8)) ?? ""
            #expect(out.contains("task metadata and credentials on \(endpoint) ("), "\(out)")
            let arn = try await runToStopped(endpoint, fixture: "metadata-probe")
            let id = String(arn.split(separator: "/").last ?? "")
            let events = try await aws(
                endpoint, ["logs", "get-log-events", "--log-group-name", "/fargate-local/metadata-probe", "--log-stream-name", "probe/\(id)"])
            #expect(events.stdout.contains("uri=\(endpoint)/v4/\(id)-probe"), "\(events.stdout)")
            #expect(events.stdout.contains("metadata=200"), "\(events.stdout)")
        }
    }

    /// `serve 2>&1 | head -1`: once its reader has gone, serve's log lines have nowhere to go,
    /// and serve goes on (before, its first log line after that trapped, and every task it
    /// ran lost its supervisor).
    @Test func serveOutlivesTheReaderOfItsLog() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let port = LocalServers.freePort()
        let endpoint = "http://127.0.0.1:\(port)"
        try await cli.startBackgroundServe(port: port, runtime: "process", output: #"> >(head -1 > "$1/first-line") 2>&1"#)
        try await cli.killingBackgroundServeAfter {
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://taskdefs/hello.json"])
            for _ in 0..<3 {
                let arn = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", "hello"]))
                _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", arn])
                let task = try JSONParser.parse(try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", arn]).stdout)["tasks"]?.arrayValue?.first
                #expect(
                    task?["stopCode"] == .string("EssentialContainerExited") && task?["containers"]?.arrayValue?.first?["exitCode"] == .number("0"),
                    "\(task?.serialized() ?? "")")
            }
            let first = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("first-line"), encoding: .utf8)) ?? ""
            #expect(first.hasPrefix("fargate-local: serving ECS"), "\(first)")
            let health = try await Command.run("curl", ["-s", "--max-time", "5", endpoint + "/health"])
            #expect(health.stdout == "{\"status\":\"ok\"}", "serve is still up")
        }
    }

    @Test func awsCliRegisterRunWaitAndReadLogs() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let errorLog = cli.stateDirectory.appendingPathComponent("serve.err").path
        try await withServe(cli, errorLog: errorLog) { endpoint in
            let reg = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://taskdefs/hello.json"])
            #expect(reg.status == 0, "\(reg.stderr)")
            let run = try await aws(
                endpoint,
                [
                    "ecs", "run-task", "--task-definition", "hello", "--started-by", "cli",
                    "--overrides", #"{"containerOverrides":[{"name":"hello","environment":[{"name":"GREETING","value":"via-cli"}]}]}"#,
                ])
            #expect(run.status == 0, "\(run.stderr)")
            let taskArn = try #require(
                try JSONParser.parse(run.stdout)["tasks"].flatMap { v -> String? in
                    if case let .array(t) = v { return t.first?["taskArn"]?.stringValue }
                    return nil
                })
            let wait = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", taskArn])
            #expect(wait.status == 0, "\(wait.stderr)")
            let listed = try await aws(endpoint, ["ecs", "list-tasks", "--desired-status", "STOPPED", "--started-by", "cli"])
            #expect(listed.stdout.contains(taskArn))
            let id = String(taskArn.split(separator: "/").last ?? "")
            let events = try await aws(endpoint, ["logs", "get-log-events", "--log-group-name", "/ecs/hello", "--log-stream-name", "ecs/hello/\(id)"])
            #expect(events.stdout.contains("GREETING=via-cli"), "\(events.stdout)\(events.stderr)")
            #expect(events.stdout.contains("hello from AWS_ECS_FARGATE in us-east-1"))
            // The CLI's own commands see the same task.
            let ps = try await cli.run(["ps", "-a"])
            #expect(ps.stdout.contains(String(id.prefix(12))))
            // serve's log: the task's lifecycle, a line each, ending with how it stopped.
            var log = ""
            for _ in 0..<40 {
                log = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
                if log.contains("task STOPPED") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(log.contains("fargate-local: task \(id) (hello:1): container hello started"), "\(log)")
            #expect(
                log.contains(
                    "fargate-local: task \(id) (hello:1): task STOPPED (EssentialContainerExited): Essential container in task exited [exit codes: hello=0]"),
                "\(log)")
            #expect(!log.contains("via-cli"), "an override's value reached serve's log: \(log)")
            // ECS needs a networkConfiguration for an awsvpc task: without one the task runs
            // here, and serve's log says ECS would have refused it; a malformed one is refused.
            #expect(
                log.contains("fargate-local: task \(id) (hello:1): warning: RunTask had no networkConfiguration; ECS refuses an awsvpc task without one"),
                "\(log)")
            // Nor a launch type or capacity provider strategy: ECS would use EC2 in a cluster without a default strategy.
            #expect(
                log.contains(
                    "fargate-local: task \(id) (hello:1): note: RunTask had neither launchType nor capacityProviderStrategy; ECS then uses the cluster's default capacity provider strategy, and without one the EC2 launch type"
                ), "\(log)")
            let empty = try await aws(
                endpoint, ["ecs", "run-task", "--task-definition", "hello", "--network-configuration", "awsvpcConfiguration={subnets=[]}"])
            #expect(
                empty.status != 0 && empty.stderr.contains("InvalidParameterException") && empty.stderr.contains("subnets can not be empty."), "\(empty.stderr)"
            )
            let configured = try await aws(
                endpoint,
                [
                    "ecs", "run-task", "--task-definition", "hello", "--launch-type", "FARGATE",
                    "--network-configuration", "awsvpcConfiguration={subnets=[subnet-0123456789abcdef0],assignPublicIp=DISABLED}",
                ])
            #expect(configured.status == 0, "\(configured.stderr)")
            let second = String(
                (try JSONParser.parse(configured.stdout)["tasks"].flatMap { v -> String? in
                    if case let .array(t) = v { return t.first?["taskArn"]?.stringValue }
                    return nil
                } ?? "").split(separator: "/").last ?? "")
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", second])
            let later = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
            #expect(
                !second.isEmpty && !later.contains("task \(second) (hello:1): warning: RunTask had no networkConfiguration")
                    && !later.contains("task \(second) (hello:1): note: RunTask had neither launchType"), "\(later)")
        }
    }

    /// `serve` says so when it listens beyond this machine (clients there cannot be told apart),
    /// and not on a loopback address.
    @Test func serveWarnsWhenItListensBeyondThisMachine() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        for (host, warned) in [("0.0.0.0", true), ("127.0.0.1", false)] {
            let errorLog = cli.stateDirectory.appendingPathComponent("serve-\(host).err").path
            let log = try await withServe(cli, ["--host", host], errorLog: errorLog) { _ -> String in
                // Said at start, after the server answers: wait for it (or, on loopback, a while).
                var log = ""
                for _ in 0..<25 {
                    log = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
                    if log.contains("warning: listening on") { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return log
            }
            #expect(
                log.contains("warning: listening on \(host), not a loopback address: whoever reaches it from another machine can run tasks") == warned,
                "\(host): \(log)")
        }
    }

    /// RunTask's enableExecuteCommand: the task says so, each container carries an
    /// ExecuteCommandAgent that follows it (PENDING, RUNNING, STOPPED), and `exec` runs
    /// without the warning it gives for a task ECS would refuse ExecuteCommand on.
    @Test func enableExecuteCommandGivesContainersTheirAgent() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { endpoint in
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/long-running.json"])
            let arn = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", "long-running", "--enable-execute-command"]))
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-running", "--tasks", arn])
            let id = String(arn.split(separator: "/").last ?? "")
            func task() async throws -> JSONValue? {
                try JSONParser.parse(try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", arn]).stdout)["tasks"]?.arrayValue?.first
            }
            let running = try await task()
            #expect(running?["enableExecuteCommand"] == .bool(true), "\(running?.serialized() ?? "")")
            let agent = running?["containers"]?.arrayValue?.first?["managedAgents"]?.arrayValue?.first
            #expect(
                agent?["name"]?.stringValue == "ExecuteCommandAgent" && agent?["lastStatus"]?.stringValue == "RUNNING" && agent?["lastStartedAt"] != nil,
                "\(agent?.serialized() ?? "none")")
            let exec = try await cli.run(["exec", id, "--", "true"])
            #expect(exec.status == 0 && !exec.stderr.contains("enableExecuteCommand"), "\(exec.stderr)")
            // ExecuteCommand (boto3, as the aws CLI sends it before starting the session-manager-plugin):
            // ECS's checks, then what to run instead.
            func executeCommand(_ task: String, interactive: Bool = true) async throws -> String {
                try await Command.python(
                    """
                    import boto3, botocore
                    ecs = boto3.client("ecs", endpoint_url="\(endpoint)", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
                    try:
                        ecs.execute_command(cluster="default", task="\(task)", command="sh", interactive=\(interactive ? "True" : "False"))
                        print("no error")
                    except botocore.exceptions.ClientError as e:
                        print(e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"])
                    """
                ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let session = try await executeCommand(arn)
            #expect(
                session.hasPrefix("ClientException: fargate-local has no Session Manager")
                    && session.contains("fargate-local exec \(id.prefix(12)) -c worker -it -- COMMAND"), "\(session)")
            #expect(try await executeCommand(arn, interactive: false) == "InvalidParameterException: Interactive is the only mode supported currently.")
            _ = try await aws(endpoint, ["ecs", "stop-task", "--task", arn])
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", arn])
            let stopped = try await task()?["containers"]?.arrayValue?.first?["managedAgents"]?.arrayValue?.first
            #expect(stopped?["lastStatus"]?.stringValue == "STOPPED", "\(stopped?.serialized() ?? "none")")
            // Without it: false, no agents, and exec warns (and still runs).
            let plain = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", "long-running"]))
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-running", "--tasks", plain])
            let described = try JSONParser.parse(try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", plain]).stdout)["tasks"]?.arrayValue?.first
            #expect(
                described?["enableExecuteCommand"] == .bool(false) && described?["containers"]?.arrayValue?.first?["managedAgents"] == nil,
                "\(described?.serialized() ?? "")")
            #expect(
                try await executeCommand(plain).hasPrefix(
                    "InvalidParameterException: The execute command failed because execute command was not enabled when the task was run"))
            let warned = try await cli.run(["exec", String(plain.split(separator: "/").last ?? ""), "--", "true"])
            #expect(
                warned.status == 0
                    && warned.stderr.contains("was not run with enableExecuteCommand (run --enable-execute-command); ECS's ExecuteCommand would refuse it"),
                "\(warned.stderr)")
            _ = try await aws(endpoint, ["ecs", "stop-task", "--task", plain])
        }
    }

    /// awslogs-multiline-pattern and awslogs-datetime-format: GetLogEvents and
    /// FilterLogEvents give a stack trace as one event, as the awslogs driver sends it.
    @Test func multiLineLogEventsAreGroupedAsTheAwslogsDriverGroupsThem() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { endpoint in
            let arn = try await runToStopped(endpoint, fixture: "multiline-logs")
            let id = String(arn.split(separator: "/").last ?? "")
            func messages(_ container: String) async throws -> [String] {
                let page = try await aws(
                    endpoint,
                    [
                        "logs", "get-log-events", "--log-group-name", "/fargate-local/multiline",
                        "--log-stream-name", "ml/\(container)/\(id)", "--start-from-head",
                    ])
                return (try JSONParser.parse(page.stdout)["events"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }
            }
            #expect(try await messages("java") == ["starting up\n", "2026-11-27 ERROR boom\n  at Frame.one\n  at Frame.two\n", "2026-11-27 INFO done\n"])
            #expect(try await messages("stamped") == ["2026-11-27T10:00:00 first\ncontinued\n", "2026-11-27T10:00:01 second\n"])
            // CloudWatch's 256 KiB event limit (less its 26 bytes per event), as the awslogs
            // driver keeps it: a 300,000-byte line is two events; a continuation line that
            // would take its event past the limit begins the next one.
            #expect(try await messages("wide").map(\.utf8.count) == [262_118, 37_882])
            let stack = try await messages("stack")
            #expect(stack.map(\.utf8.count) == [6 + 2 * 100_001, 100_001], "\(stack.map(\.utf8.count))")
            #expect(stack.last?.first == "3" && stack.first?.hasPrefix("START\n1") == true)
            let filtered = try await aws(
                endpoint, ["logs", "filter-log-events", "--log-group-name", "/fargate-local/multiline", "--filter-pattern", "\"Frame.two\""])
            let found = (try JSONParser.parse(filtered.stdout)["events"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }
            #expect(found == ["2026-11-27 ERROR boom\n  at Frame.one\n  at Frame.two\n"], "\(filtered.stdout)")
            let printed = try await cli.run(["logs", id, "--container", "java"])
            #expect(printed.stdout == "starting up\n2026-11-27 ERROR boom\n  at Frame.one\n  at Frame.two\n2026-11-27 INFO done\n", "\(printed.stdout)")
        }
    }

    /// FilterLogEvents pages through a group's streams with its nextToken (small pages, a
    /// pattern, a page that ends inside a line split into two events, boto3's paginator, a
    /// startTime inside the streams) and gives the events, and ids, that one page gives, in
    /// time order; a token it did not give is refused.
    @Test func filterLogEventsPagesThroughAGroup() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { endpoint in
            try await runToStopped(endpoint, fixture: "three-streams")
            let out = try await Command.python(
                """
                import boto3, botocore
                logs = boto3.client("logs", endpoint_url="\(endpoint)", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
                g = "/fargate-local/three"
                def paged(limit, **kw):
                    events, token, pages = [], None, 0
                    while True:
                        r = logs.filter_log_events(logGroupName=g, limit=limit, **({"nextToken": token} if token else {}), **kw)
                        events += r["events"]; pages += 1
                        token = r.get("nextToken")
                        if not token: return events, pages
                whole = logs.filter_log_events(logGroupName=g)["events"]
                ids = [e["eventId"] for e in whole]
                assert len(whole) == 9004, len(whole)
                assert len(set(ids)) == len(ids), "event ids repeat"
                assert all(a["timestamp"] <= b["timestamp"] for a, b in zip(whole, whole[1:])), "not in time order"
                assert sum(1 for e in whole if e["message"].startswith("www")) == 2
                # The 300,000-byte line is two events: one page ends between them.
                split = next(i for i, e in enumerate(whole) if e["message"].startswith("www"))
                for limit in (137, 4500, split + 1):
                    events, pages = paged(limit)
                    assert [e["eventId"] for e in events] == ids, ("limit", limit, len(events))
                    assert pages >= 9004 // limit, (limit, pages)
                # From a time on (as `aws logs tail --follow` polls): each stream is entered at
                # that time, and its events keep their ids (those before it are counted, the
                # long line as its two events).
                b = [e for e in whole if e["logStreamName"].startswith("t/b/")]
                # 100,000 bytes that are not UTF-8 are 100,000 U+FFFD (300,000 bytes): two events.
                invalid = [i for i, e in enumerate(b) if e["message"].startswith("\\ufffd")]
                assert len(invalid) == 2, len(invalid)
                after_long = b[next(i for i, e in enumerate(b) if e["message"].startswith("www")) + 2]["timestamp"]
                after_invalid = b[invalid[-1] + 1]["timestamp"]
                assert after_long > b[0]["timestamp"] and after_invalid > after_long
                for t in (whole[split]["timestamp"], after_long, after_invalid, whole[8000]["timestamp"], whole[-1]["timestamp"] + 1):
                    since = logs.filter_log_events(logGroupName=g, startTime=t)["events"]
                    assert [e["eventId"] for e in since] == [e["eventId"] for e in whole if e["timestamp"] >= t], ("startTime", t, len(since))
                # GetLogEvents forward within a time range, page by page (a page's token is the
                # byte it stopped at; the same token comes back at the end), as one list gives it.
                every_b = [(e["timestamp"], e["message"]) for e in b]
                for t0, t1 in ((b[1000]["timestamp"], b[2500]["timestamp"]), (after_long, None), (None, after_invalid), (after_invalid, after_invalid)):
                    kw = {k: v for k, v in (("startTime", t0), ("endTime", t1)) if v is not None}
                    got, token = [], None
                    while True:
                        r = logs.get_log_events(logGroupName=g, logStreamName=b[0]["logStreamName"], startFromHead=True, limit=333, **kw, **({"nextToken": token} if token else {}))
                        got += [(e["timestamp"], e["message"]) for e in r["events"]]
                        if r["nextForwardToken"] == token: break
                        token = r["nextForwardToken"]
                    assert got == [x for x in every_b if (t0 is None or x[0] >= t0) and (t1 is None or x[0] < t1)], ("get-log-events", t0, t1, len(got))
                # Backward (as `aws logs get-log-events` asks by default), page by page to the
                # stream's start (where the same token comes back), as one list gives it.
                got, token = [], None
                while True:
                    r = logs.get_log_events(logGroupName=g, logStreamName=b[0]["logStreamName"], limit=777, **({"nextToken": token} if token else {}))
                    got = [(e["timestamp"], e["message"]) for e in r["events"]] + got
                    if r["nextBackwardToken"] == token: break
                    token = r["nextBackwardToken"]
                assert got == every_b, ("backward", len(got), len(every_b))
                last = logs.get_log_events(logGroupName=g, logStreamName=b[0]["logStreamName"])
                assert [(e["timestamp"], e["message"]) for e in last["events"]] == every_b
                tail = logs.get_log_events(logGroupName=g, logStreamName=b[0]["logStreamName"], limit=100)
                assert [(e["timestamp"], e["message"]) for e in tail["events"]] == every_b[-100:]
                on = logs.get_log_events(logGroupName=g, logStreamName=b[0]["logStreamName"], startFromHead=True, nextToken=tail["nextForwardToken"])
                assert on["events"] == [] and on["nextForwardToken"] == tail["nextForwardToken"], on
                matching = [e["eventId"] for e in whole if " 7" in e["message"]]
                events, _ = paged(50, filterPattern='"line 7"')
                assert [e["eventId"] for e in events] == matching, (len(events), len(matching))
                paginated = [e["eventId"] for p in logs.get_paginator("filter_log_events").paginate(logGroupName=g, logStreamNamePrefix="t/b", PaginationConfig={"PageSize": 333}) for e in p["events"]]
                assert paginated == [e["eventId"] for e in whole if e["logStreamName"].startswith("t/b/")], len(paginated)
                try:
                    logs.filter_log_events(logGroupName=g, nextToken="12")
                    print("no error")
                except botocore.exceptions.ClientError as e:
                    print(e.response["Error"]["Code"])
                """)
            #expect(out.status == 0 && out.stdout == "InvalidParameterException\n", "\(out.stdout)\(out.stderr)")
        }
    }

    /// `run FAMILY:REVISION` of a deregistered revision is refused as ECS's RunTask refuses
    /// it, and runs nothing; the family's ACTIVE revision still runs.
    @Test func runRefusesADeregisteredRevisionAsRunTaskDoes() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { endpoint in
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/structured-logs.json"])
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/structured-logs.json"])
            _ = try await aws(endpoint, ["ecs", "deregister-task-definition", "--task-definition", "structured-logs:1"])
            let refused = try await cli.run(["run", "--wait", "--runtime", "process", "structured-logs:1"])
            #expect(
                refused.status == 125 && refused.stderr.contains("structured-logs:1 is INACTIVE (deregistered)")
                    && refused.stderr.contains("TaskDefinition is inactive"), "\(refused.stderr)")
            let tasks =
                try JSONParser.parse(try await aws(endpoint, ["ecs", "list-tasks", "--desired-status", "STOPPED"]).stdout)["taskArns"]?.arrayValue ?? []
            #expect(tasks.isEmpty, "\(tasks)")
            let ran = try await cli.run(["run", "--wait", "-q", "--runtime", "process", "structured-logs"])
            #expect(ran.status == 0 && ran.stdout.contains("plain ERROR line"), "\(ran.stderr)")
        }
    }

    /// FilterLogEvents takes CloudWatch's filter patterns (terms, `?` alternatives, quoted
    /// phrases, `%regex%`, JSON and space-delimited patterns) through the aws CLI, and refuses
    /// an unquoted term with punctuation in CloudWatch's words; `logs --filter` takes the same.
    @Test func filterLogEventsTakesCloudWatchFilterPatterns() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { endpoint in
            let arn = try await runToStopped(endpoint, fixture: "structured-logs")
            func filtered(_ pattern: String) async throws -> [String] {
                let out = try await aws(endpoint, ["logs", "filter-log-events", "--log-group-name", "/fargate-local/structured", "--filter-pattern", pattern])
                #expect(out.status == 0, "\(pattern): \(out.stderr)")
                return (try JSONParser.parse(out.stdout)["events"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }
            }
            let error = #"{"level":"error","path":"/orders","latency":812,"user":{"id":"u-7"}}"#
            let warn = #"{"level":"warn","path":"/orders","latency":240}"#
            let access = #"10.0.0.9 - - [27/Nov/2026:10:00:01 +0000] "POST /login HTTP/1.1" 500 17"#
            let plain = "plain ERROR line: status=500"
            #expect(try await filtered(#"{ $.level = "error" }"#) == [error])
            #expect(try await filtered(#"{ $.path = "/orders" && $.latency > 100 }"#) == [error, warn])
            #expect(try await filtered("{ $.user.id = u-* || $.level = warn }") == [error, warn])
            #expect(try await filtered("{ $.user NOT EXISTS && $.latency < 10 }").count == 1)
            #expect(try await filtered("[ip, identity, user, timestamp, request, status = 5*, bytes]") == [access])
            #expect(try await filtered("?ERROR ?login") == [access, plain])
            #expect(try await filtered(#""status=500""#) == [plain])
            #expect(try await filtered("%latency.:[0-9]{3}%") == [error, warn])
            let refused = try await aws(
                endpoint, ["logs", "filter-log-events", "--log-group-name", "/fargate-local/structured", "--filter-pattern", "status=500"])
            #expect(
                refused.status != 0 && refused.stderr.contains("(InvalidParameterException)") && refused.stderr.contains("Invalid character(s) in term '='"),
                "\(refused.stderr)")
            let id = String(arn.split(separator: "/").last ?? "")
            let printed = try await cli.run(["logs", id, "--filter", #"{ $.level = "error" || $.level = "warn" }"#])
            #expect(printed.status == 0 && printed.stdout == error + "\n" + warn + "\n", "\(printed.stdout)\(printed.stderr)")
            let throughAPI = try await cli.run(["logs", id, "--endpoint", endpoint, "--filter", "?login ?status"])
            #expect(throughAPI.status == 0 && throughAPI.stdout == access + "\n" + plain + "\n", "\(throughAPI.stdout)\(throughAPI.stderr)")
            let bad = try await cli.run(["logs", id, "--filter", "{ $.level = "])
            #expect(bad.status == 1 && bad.stdout.isEmpty && bad.stderr.contains("--filter: Invalid filter pattern"), "\(bad.stderr)")
        }
    }

    /// CloudWatch Logs' CreateLogGroup and DeleteLogGroup, and the note a task gets when its
    /// awslogs group did not exist (on Fargate it would fail to start): not for a group
    /// created first, nor with awslogs-create-group.
    @Test func logGroupsCanBeMadeFirstAndAMissingOneIsNoted() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let errorLog = cli.stateDirectory.appendingPathComponent("serve.err").path
        try await withServe(cli, errorLog: errorLog) { endpoint in
            func logs(_ args: [String]) async throws -> Command.Output { try await aws(endpoint, ["logs"] + args) }
            let made = try await logs(["create-log-group", "--log-group-name", "/ecs/made-first"])
            #expect(made.status == 0, "\(made.stderr)")
            let again = try await logs(["create-log-group", "--log-group-name", "/ecs/made-first"])
            #expect(
                again.status != 0 && again.stderr.contains("ResourceAlreadyExistsException") && again.stderr.contains("The specified log group already exists"),
                "\(again.stderr)")
            let badName = try await logs(["create-log-group", "--log-group-name", "no spaces"])
            #expect(badName.status != 0 && badName.stderr.contains("InvalidParameterException"), "\(badName.stderr)")
            let listed = try await logs(["describe-log-groups", "--log-group-name-prefix", "/ecs/made"])
            #expect(listed.stdout.contains("\"logGroupName\": \"/ecs/made-first\""), "\(listed.stdout)")

            func definition(_ family: String, group: String, createGroup: Bool = false) throws -> String {
                let options =
                    "\"awslogs-group\": \"\(group)\", \"awslogs-region\": \"us-east-1\", \"awslogs-stream-prefix\": \"p\""
                    + (createGroup ? ", \"awslogs-create-group\": \"true\"" : "")
                let json = """
                    {"family": "\(family)", "executionRoleArn": "arn:aws:iam::000000000000:role/ecsTaskExecutionRole", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                     "containerDefinitions": [{"name": "c", "image": "x", "command": ["true"],
                       "logConfiguration": {"logDriver": "awslogs", "options": {\(options)}}}]}
                    """
                let file = cli.stateDirectory.appendingPathComponent("\(family).json")
                try json.write(to: file, atomically: true, encoding: .utf8)
                return "file://\(file.path)"
            }
            var arns: [String] = []
            for (family, group, create) in [
                ("first", "/ecs/made-first", false), ("created", "/ecs/by-the-driver", true), ("missing", "/ecs/never-made", false),
            ] {
                _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", try definition(family, group: group, createGroup: create)])
                arns.append(try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", family])))
            }
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks"] + arns)
            let notes = try String(contentsOfFile: errorLog, encoding: .utf8).split(separator: "\n").filter { $0.contains("did not exist") }
            #expect(
                notes.count == 1
                    && notes.first?.contains("log group /ecs/never-made did not exist, so fargate-local made it; on Fargate this task fails to start") == true,
                "\(notes)")
            #expect(notes.first?.contains("awslogs-create-group is \"true\"") == true)

            let deleted = try await logs(["delete-log-group", "--log-group-name", "/ecs/never-made"])
            #expect(deleted.status == 0, "\(deleted.stderr)")
            let gone = try await logs(["describe-log-streams", "--log-group-name", "/ecs/never-made"])
            #expect(gone.status != 0 && gone.stderr.contains("ResourceNotFoundException"), "\(gone.stderr)")
            let twice = try await logs(["delete-log-group", "--log-group-name", "/ecs/never-made"])
            #expect(twice.status != 0 && twice.stderr.contains("The specified log group does not exist."), "\(twice.stderr)")
        }
    }

    /// Task scale-in protection, as ECS answers a standalone task (protection is for a
    /// service's tasks): the agent endpoint in the container ($ECS_AGENT_URI) and
    /// Get/UpdateTaskProtection give TASK_NOT_VALID; without a task role the agent endpoint
    /// refuses, as the agent does; a PUT without ProtectionEnabled is a 400.
    @Test func taskProtectionIsRefusedAsForAStandaloneTask() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        try await withServe(cli) { endpoint in
            let probe =
                "curl -s -w ' %{http_code}\\\\n' $ECS_AGENT_URI/task-protection/v1/state; "
                + "curl -s -w ' %{http_code}\\\\n' -X PUT -d '{\\\"ProtectionEnabled\\\":true,\\\"ExpiresInMinutes\\\":60}' $ECS_AGENT_URI/task-protection/v1/state; "
                + "curl -s -w ' %{http_code}\\\\n' -X PUT -d '{}' $ECS_AGENT_URI/task-protection/v1/state"
            for (family, role) in [("with-role", ", \"taskRoleArn\": \"arn:aws:iam::000000000000:role/app\""), ("without-role", "")] {
                let json = """
                    {"family": "\(family)", "networkMode": "awsvpc", "cpu": "256", "memory": "512"\(role),
                     "containerDefinitions": [{"name": "worker", "image": "x", "command": ["sh", "-c", "\(probe)"]}]}
                    """
                let file = cli.stateDirectory.appendingPathComponent("\(family).json")
                try json.write(to: file, atomically: true, encoding: .utf8)
                _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://\(file.path)"])
            }
            let withRole = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", "with-role"]))
            let withoutRole = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", "without-role"]))
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", withRole, withoutRole])
            func lines(_ arn: String) async throws -> [String] {
                let id = String(arn.split(separator: "/").last ?? "")
                let family = arn == withRole ? "with-role" : "without-role"
                let page = try await aws(
                    endpoint, ["logs", "get-log-events", "--log-group-name", "/fargate-local/\(family)", "--log-stream-name", "worker/\(id)"])
                return (try JSONParser.parse(page.stdout)["events"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }
            }
            let notValid = "{\"failure\":{\"Arn\":\"\(withRole)\",\"Detail\":null,\"Reason\":\"TASK_NOT_VALID\"}} 200"
            #expect(
                try await lines(withRole) == [
                    notValid, notValid,
                    "{\"error\":{\"Arn\":\"\(withRole)\",\"Code\":\"InvalidParameterException\",\"Message\":\"Invalid request: does not contain 'ProtectionEnabled' field\"}} 400",
                ])
            #expect(
                try await lines(withoutRole).first
                    == "{\"error\":{\"Arn\":\"\(withoutRole)\",\"Code\":\"AccessDeniedException\",\"Message\":\"Invalid Request: no task IAM role credentials available for task\"}} 403"
            )

            let got = try JSONParser.parse(try await aws(endpoint, ["ecs", "get-task-protection", "--cluster", "default", "--tasks", withRole, "0123"]).stdout)
            let reasons = (got["failures"]?.arrayValue ?? []).compactMap { $0["reason"]?.stringValue }
            #expect(reasons == ["TASK_NOT_VALID", "MISSING"] && got["protectedTasks"]?.arrayValue?.isEmpty == true, "\(got.serialized())")
            let updated = try await aws(
                endpoint, ["ecs", "update-task-protection", "--cluster", "default", "--tasks", withRole, "--protection-enabled", "--expires-in-minutes", "60"])
            #expect(updated.stdout.contains("TASK_NOT_VALID"), "\(updated.stdout)\(updated.stderr)")
            let tooLong = try await aws(
                endpoint,
                ["ecs", "update-task-protection", "--cluster", "default", "--tasks", withRole, "--protection-enabled", "--expires-in-minutes", "3000"])
            #expect(tooLong.status != 0 && tooLong.stderr.contains("InvalidParameterException"), "\(tooLong.stderr)")
        }
    }

    @Test func sdkInsideATaskGetsCredentialsOnlyWithItsToken() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { endpoint in
            let probe = """
                {"family": "creds", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "taskRoleArn": "arn:aws:iam::000000000000:role/app",
                 "containerDefinitions": [{"name": "probe", "image": "x", "command": ["sh", "-c",
                   "python3 -c 'import boto3; c = boto3.Session().get_credentials(); print(\\"sdk-key=\\" + c.get_frozen_credentials().access_key + \\" via \\" + c.method)'; curl -s -o /dev/null -w 'no-token=%{http_code}\\\\n' $AWS_CONTAINER_CREDENTIALS_FULL_URI; curl -s -o /dev/null -w 'wrong-token=%{http_code}\\\\n' -H 'Authorization: guess' $AWS_CONTAINER_CREDENTIALS_FULL_URI; curl -sf $ECS_CONTAINER_METADATA_URI_V4/task | python3 -c 'import json,sys; t=json.load(sys.stdin); print(\\"metadata-family=\\" + t[\\"Family\\"] + \\" containers=\\" + str(len(t[\\"Containers\\"])))'"]}]}
                """
            let file = cli.stateDirectory.appendingPathComponent("creds.json")
            try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
            try Data(probe.utf8).write(to: file)
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://\(file.path)"])
            let run = try await aws(endpoint, ["ecs", "run-task", "--task-definition", "creds"])
            let taskArn = try #require(run.stdout.split(separator: "\"").first { $0.contains(":task/default/") }.map(String.init))
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", taskArn])
            let id = String(taskArn.split(separator: "/").last ?? "")
            let events = try await aws(endpoint, ["logs", "get-log-events", "--log-group-name", "/fargate-local/creds", "--log-stream-name", "probe/\(id)"])
            #expect(events.stdout.contains("sdk-key=AKIAFARGATELOCAL0000 via container-role"), "\(events.stdout)")
            #expect(events.stdout.contains("no-token=403"))
            #expect(events.stdout.contains("wrong-token=403"))
            #expect(events.stdout.contains("metadata-family=creds containers=1"))
            // The token is never shown by the API.
            let described = try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", taskArn])
            #expect(!described.stdout.lowercased().contains("token"))
        }
    }

    /// Registers a fixture of Tests/Fixtures/run through the aws CLI, runs it and waits until
    /// it has stopped; its task ARN.
    @discardableResult
    func runToStopped(_ endpoint: String, fixture: String) async throws -> String {
        _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/\(fixture).json"])
        let arn = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", fixture]))
        _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", arn])
        return arn
    }

    func taskArn(_ output: Command.Output) throws -> String {
        try #require(output.stdout.split(separator: "\"").first { $0.contains(":task/default/") }.map(String.init))
    }

    /// kill -9 the controller with a process task running: its shim keeps the container and its
    /// logs going; a restarted controller re-adopts it (pid + start time) and supervises it to the end.
    @Test func killedControllerReadoptsProcessContainers() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let port = LocalServers.freePort()
        let endpoint = "http://127.0.0.1:\(port)"
        try await cli.startBackgroundServe(port: port, runtime: "process")
        _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/ticker.json"])
        let arn = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", "ticker"]))
        _ = try await aws(endpoint, ["ecs", "wait", "tasks-running", "--tasks", arn])
        try await Task.sleep(for: .milliseconds(500))
        try await cli.killBackgroundServe()
        try await Task.sleep(for: .milliseconds(1200))  // ticks go on with no controller

        try await cli.startBackgroundServe(port: port, runtime: "process")
        try await cli.killingBackgroundServeAfter {
            try await checkReadopted(cli, endpoint: endpoint, arn: arn)
        }
    }

    /// A process task's containers keep the metadata and credentials address they were
    /// started with: a controller that re-adopts the task on another port listens there too,
    /// with only what a task reaches (the ECS API is refused there).
    @Test func readoptingOnAnotherPortKeepsProcessContainersEndpoints() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let first = LocalServers.freePort()
        try await cli.startBackgroundServe(port: first, runtime: "process")
        let firstEndpoint = "http://127.0.0.1:\(first)"
        _ = try await aws(firstEndpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/ticker.json"])
        let arn = try taskArn(try await aws(firstEndpoint, ["ecs", "run-task", "--task-definition", "ticker"]))
        _ = try await aws(firstEndpoint, ["ecs", "wait", "tasks-running", "--tasks", arn])
        try await cli.killBackgroundServe()

        let second = LocalServers.freePort()
        try await cli.startBackgroundServe(port: second, runtime: "process")
        let id = String(arn.split(separator: "/").last ?? "")
        try await cli.killingBackgroundServeAfter {
            // What the container was told, read from its own environment.
            let pid = try #require(
                try JSONParser.parse(try await cli.run(["describe", id]).stdout)["tasks"]?.arrayValue?.first?["containers"]?.arrayValue?.first?["runtimeId"]?
                    .stringValue)
            let environ = try await Command.run("/bin/sh", ["-c", "tr '\\0' '\\n' < /proc/$0/environ | grep ^ECS_CONTAINER_METADATA_URI_V4=", pid])
            #expect(environ.stdout == "ECS_CONTAINER_METADATA_URI_V4=\(firstEndpoint)/v4/\(id)-ticker\n", "\(environ.stdout) \(environ.stderr)")
            let metadata = try await Command.run("curl", ["-s", "--max-time", "5", "\(firstEndpoint)/v4/\(id)-ticker/task"])
            #expect(metadata.stdout.contains("\"TaskARN\":\"\(arn)\""), "\(metadata.stdout)")
            let api = try await Command.run(
                "curl",
                [
                    "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                    "X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListTasks",
                    "-H", "Content-Type: application/x-amz-json-1.1", "-d", "{}", firstEndpoint + "/",
                ])
            #expect(api.stdout == "403", "the ECS API is not served on a task's address: \(api.stdout)")
            let out = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("serve.out"), encoding: .utf8)) ?? ""
            #expect(out.contains("serving task metadata and credentials on \(firstEndpoint) too, for the containers of re-adopted task \(id)"), "\(out)")
            try await Task.sleep(for: .milliseconds(1500))  // the ticks checkReadopted counts
            try await checkReadopted(cli, endpoint: "http://127.0.0.1:\(second)", arn: arn)
        }
    }

    /// A running serve takes over a task whose supervisor dies while it runs (here a `run`'s
    /// background supervisor, killed with SIGKILL), within seconds; a stop then reaches it.
    @Test func aRunningServeTakesOverATaskWhoseSupervisorDies() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let port = LocalServers.freePort()
        try await cli.startBackgroundServe(port: port, runtime: "process")
        try await cli.killingBackgroundServeAfter {
            let id = try await cli.run(["run", "--runtime", "process", "Tests/Fixtures/run/long-running.json"]).stdout.trimmingCharacters(
                in: .whitespacesAndNewlines)
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
            var log = ""
            for _ in 0..<100 where !log.contains("re-adopted task \(id)") {
                try await Task.sleep(for: .milliseconds(100))
                log = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("serve.out"), encoding: .utf8)) ?? ""
            }
            #expect(log.contains("fargate-local: re-adopted task \(id) (its process containers were still there)"), "\(log)")
            let stop = try await cli.run(["stop", id, "--reason", "after serve took it over", "--wait"])
            #expect(stop.status == 0 && !stop.stderr.contains("had no running supervisor"), "serve had it, not stop: \(stop.stderr)")
            let task = try #require(try JSONParser.parse(try await cli.run(["describe", id]).stdout)["tasks"]?.arrayValue?.first)
            #expect(task["lastStatus"]?.stringValue == "STOPPED" && task["stoppedReason"]?.stringValue == "after serve took it over", "\(task.serialized())")
            #expect(task["containers"]?.arrayValue?.first?["exitCode"] == .number("143"))
        }
    }

    func checkReadopted(_ cli: CLIHarness, endpoint: String, arn: String) async throws {
        let described = try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", arn])
        #expect(described.stdout.contains("\"lastStatus\": \"RUNNING\""), "\(described.stdout)")
        let out = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("serve.out"), encoding: .utf8)) ?? ""
        #expect(out.contains("re-adopted task"), "\(out)")
        _ = try await aws(endpoint, ["ecs", "stop-task", "--task", arn, "--reason", "after the restart"])
        _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", arn])
        let final = try JSONParser.parse(try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", arn]).stdout)
        guard case let .array(tasks)? = final["tasks"], let task = tasks.first, case let .array(containers)? = task["containers"] else {
            Issue.record("no task")
            return
        }
        #expect(task["stopCode"] == .string("UserInitiated"))
        #expect(task["stoppedReason"] == .string("after the restart"))
        #expect(containers.first?["exitCode"] == .number("0"))
        let id = String(arn.split(separator: "/").last ?? "")
        // serve logs the lifecycle of the tasks it supervises, re-adopted ones too, a line each.
        let stopped = "fargate-local: task \(id) (ticker:1): task STOPPED (UserInitiated): after the restart [exit codes: ticker=0]"
        var log = ""
        for _ in 0..<40 {
            log = (try? String(contentsOf: cli.stateDirectory.appendingPathComponent("serve.out"), encoding: .utf8)) ?? ""
            if log.contains(stopped) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(log.contains(stopped), "\(log)")
        #expect(log.contains("fargate-local: task \(id) (ticker:1): container ticker exited with code 0"), "\(log)")
        let events = try JSONParser.parse(
            try await aws(
                endpoint, ["logs", "get-log-events", "--log-group-name", "/fargate-local/ticker", "--log-stream-name", "ticker/\(id)", "--start-from-head"]
            ).stdout)
        guard case let .array(list)? = events["events"] else {
            Issue.record("no events")
            return
        }
        let messages = list.compactMap { $0["message"]?.stringValue }
        let ticks = messages.compactMap { $0.hasPrefix("tick ") ? Int($0.dropFirst(5)) : nil }
        // stdout and stderr are two pipes: sh's "Terminated" (stderr) may come before or after.
        #expect(messages.suffix(3).contains("got SIGTERM"), "\(messages.suffix(5))")
        #expect(ticks.count > 10)
        #expect(ticks == Array(1...(ticks.last ?? 0)), "ticks have gaps or duplicates across the restart")
    }

    /// When the container and its shim are gone too, the task is recorded STOPPED (not dropped).
    @Test func lostContainersAreRecordedNotDropped() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let port = LocalServers.freePort()
        let endpoint = "http://127.0.0.1:\(port)"
        try await cli.startBackgroundServe(port: port, runtime: "process")
        _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/long-running.json"])
        let arn = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", "long-running"]))
        _ = try await aws(endpoint, ["ecs", "wait", "tasks-running", "--tasks", arn])
        let id = String(arn.split(separator: "/").last ?? "")
        try await cli.killBackgroundServe()
        // Kill the shim and the container with SIGKILL: no exit code is recorded anywhere.
        let run = cli.stateDirectory.appendingPathComponent("tasks/\(id)/run/worker").path
        _ = try await Command.run("/bin/sh", ["-c", "pkill -9 -f \"shim $0\"; kill -9 -$(cut -d' ' -f1 \"$0/pid\")", run])
        try await Task.sleep(for: .milliseconds(300))
        try await cli.startBackgroundServe(port: port, runtime: "process")
        _ = try? await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", arn])
        let d = try? await aws(endpoint, ["ecs", "describe-tasks", "--tasks", arn])
        let stopped = try? await aws(endpoint, ["ecs", "list-tasks", "--desired-status", "STOPPED"])
        try await cli.killBackgroundServe()
        #expect(d?.stdout.contains("\"lastStatus\": \"STOPPED\"") == true, "\(d?.stdout ?? "")")
        #expect(d?.stdout.contains("its controller exited while the task ran") == true || d?.stdout.contains("disappeared") == true, "\(d?.stdout ?? "")")
        #expect(stopped?.stdout.contains(arn) == true)
    }

    /// `run --wait --endpoint`: Ctrl-C stops the task through StopTask, as a local run does,
    /// and follows it until it has stopped (run exits with its code); a second Ctrl-C stops
    /// following at once (130), and the controller finishes the stop.
    @Test func interruptingARunThroughTheEndpointStopsItsTask() async throws {
        let server = CLIHarness()
        let client = CLIHarness()
        defer {
            server.cleanup()
            client.cleanup()
        }
        try FileManager.default.createDirectory(at: client.stateDirectory, withIntermediateDirectories: true)
        func definition(_ family: String, trap: String, stopTimeout: Int) throws -> String {
            let json = """
                {"family": "\(family)", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                 "containerDefinitions": [{"name": "worker", "image": "x", "stopTimeout": \(stopTimeout),
                   "command": ["sh", "-c", "trap '\(trap)' TERM; echo worker: started; while true; do sleep 0.2; done"]}]}
                """
            let file = client.stateDirectory.appendingPathComponent("\(family).json")
            try json.write(to: file, atomically: true, encoding: .utf8)
            return file.path
        }
        let script = """
            "$0" run --wait --endpoint "$2" "$3" > "$1.out" 2> "$1.err" &
            pid=$!
            for _ in $(seq 400); do grep -q 'worker: started' "$1.out" 2>/dev/null && break; sleep 0.05; done
            kill -INT $pid
            for _ in $(seq 400); do grep -q "$4" "$1.out" && break; sleep 0.05; done
            [ "$5" = twice ] && kill -INT $pid
            wait $pid
            echo "run exited $?"
            cat "$1.out"; cat "$1.err" >&2
            """
        try await withServe(server) { endpoint in
            let graceful = try definition("graceful", trap: "echo worker: bye; exit 3", stopTimeout: 30)
            let once = try await Command.run(
                "bash", ["-c", script, CLIHarness.binary, client.stateDirectory.path + "/once", endpoint, graceful, "worker: bye", "once"],
                workingDirectory: CLIHarness.repository.path)
            #expect(once.stdout.contains("run exited 3") && once.stdout.contains("worker | worker: bye"), "\(once.stdout)\n\(once.stderr)")
            #expect(
                once.stderr.contains("interrupted: stopping task") && once.stderr.contains("stopped: Task stopped by user (interrupted) (exit code 3)"),
                "\(once.stderr)")

            let stubborn = try definition("stubborn", trap: "echo worker: ignoring SIGTERM", stopTimeout: 3)
            let twice = try await Command.run(
                "bash", ["-c", script, CLIHarness.binary, client.stateDirectory.path + "/twice", endpoint, stubborn, "ignoring SIGTERM", "twice"],
                workingDirectory: CLIHarness.repository.path)
            #expect(twice.stdout.contains("run exited 130") && twice.stderr.contains("no longer following task"), "\(twice.stdout)\n\(twice.stderr)")
            let tasks =
                try JSONParser.parse(try await aws(endpoint, ["ecs", "list-tasks", "--family", "stubborn", "--desired-status", "STOPPED"]).stdout)["taskArns"]?
                .arrayValue ?? []
            let arn = try #require(tasks.first?.stringValue)
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", arn])
            let task = try JSONParser.parse(try await aws(endpoint, ["ecs", "describe-tasks", "--tasks", arn]).stdout)["tasks"]?.arrayValue?.first
            #expect(task?["stoppedReason"]?.stringValue == "Task stopped by user (interrupted)", "\(task?.serialized() ?? "")")
            #expect(
                task?["containers"]?.arrayValue?.first?["exitCode"] == .number("137"), "the controller finished the stop: SIGKILL after the 3 s stopTimeout")
        }
    }

    /// `stop` on serve's state directory (no --endpoint) stops that task, not serve: the
    /// request is announced to serve's API; and `--spot-interruption` stops a task as Fargate
    /// Spot reclaims it. Before, `stop` sent serve a SIGTERM, which shut down every task.
    @Test func stoppingOneOfServesTasksLeavesServeAndItsOtherTasksRunning() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { endpoint in
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/long-running.json"])
            // Takes a second to stop: its state can be seen while it stops.
            let slow = cli.stateDirectory.appendingPathComponent("slow-stop.json")
            try
                #"{"family": "slow-stop", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "w", "image": "x", "command": ["sh", "-c", "trap 'sleep 1; exit 143' TERM; while true; do sleep 0.1; done"]}]}"#
                .write(to: slow, atomically: true, encoding: .utf8)
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://\(slow.path)"])
            var arns: [String] = []
            for args in [
                ["long-running", "--launch-type", "FARGATE"], ["long-running", "--launch-type", "FARGATE"],
                ["slow-stop", "--capacity-provider-strategy", "capacityProvider=FARGATE_SPOT,weight=1"],
            ] {
                arns.append(try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition"] + args)))
            }
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-running", "--tasks"] + arns)
            let ids = arns.map { String($0.split(separator: "/").last ?? "") }
            let stop = try await cli.run(["stop", ids[0], "--reason", "just this one", "--wait"])
            #expect(stop.status == 0, "\(stop.stderr)")
            let spot = try await cli.run(["stop", ids[2], "--spot-interruption"])
            #expect(spot.status == 0 && !spot.stderr.contains("note:"), "\(spot.stderr)")
            func describe(_ arns: [String]) async throws -> [JSONValue] {
                try JSONParser.parse(try await aws(endpoint, ["ecs", "describe-tasks", "--tasks"] + arns).stdout)["tasks"]?.arrayValue ?? []
            }
            // The notice first, as Fargate Spot gives it while the containers have their SIGTERM.
            let notice = try await describe([arns[2]]).first
            #expect(
                notice?["desiredStatus"] == .string("STOPPED") && notice?["lastStatus"] != .string("STOPPED")
                    && notice?["stopCode"] == .string("TerminationNotice") && notice?["stoppedReason"] == .string("Your Spot Task was interrupted."),
                "\(notice?.serialized() ?? "")")
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", arns[2]])
            let tasks = try await describe(arns)
            func task(_ arn: String) -> JSONValue? { tasks.first { $0["taskArn"]?.stringValue == arn } }
            #expect(
                task(arns[0])?["lastStatus"] == .string("STOPPED") && task(arns[0])?["stopCode"] == .string("UserInitiated")
                    && task(arns[0])?["stoppedReason"] == .string("just this one"), "\(task(arns[0])?.serialized() ?? "")")
            #expect(task(arns[1])?["lastStatus"] == .string("RUNNING"), "serve or its other task was stopped: \(task(arns[1])?.serialized() ?? "")")
            #expect(
                task(arns[2])?["stopCode"] == .string("SpotInterruption") && task(arns[2])?["stoppedReason"] == .string("Your Spot Task was interrupted.")
                    && task(arns[2])?["containers"]?.arrayValue?.first?["exitCode"] == .number("143"), "\(task(arns[2])?.serialized() ?? "")")
            let onDemand = try await cli.run(["stop", ids[1], "--spot-interruption"])
            #expect(onDemand.stderr.contains("was not placed on FARGATE_SPOT; on ECS only FARGATE_SPOT tasks are interrupted"), "\(onDemand.stderr)")
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", arns[1]])
        }
    }

    /// Two controllers on one state directory: StopTask at one for a task the other runs is
    /// passed to the other, which stops that task and goes on serving.
    @Test func stopTaskAtOneControllerForAnothersTask() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withServe(cli) { first in
            try await withServe(cli) { second in
                _ = try await aws(second, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/long-running.json"])
                let arns = [
                    try taskArn(try await aws(second, ["ecs", "run-task", "--task-definition", "long-running", "--launch-type", "FARGATE"])),
                    try taskArn(try await aws(second, ["ecs", "run-task", "--task-definition", "long-running", "--launch-type", "FARGATE"])),
                ]
                _ = try await aws(second, ["ecs", "wait", "tasks-running", "--tasks"] + arns)
                let stop = try await aws(first, ["ecs", "stop-task", "--task", arns[0], "--reason", "from the other controller"])
                #expect(stop.status == 0, "\(stop.stderr)")
                _ = try await aws(first, ["ecs", "wait", "tasks-stopped", "--tasks", arns[0]])
                let tasks = try JSONParser.parse(try await aws(second, ["ecs", "describe-tasks", "--tasks"] + arns).stdout)["tasks"]?.arrayValue ?? []
                #expect(tasks.first { $0["taskArn"]?.stringValue == arns[0] }?["stoppedReason"] == .string("from the other controller"), "\(tasks)")
                #expect(tasks.first { $0["taskArn"]?.stringValue == arns[1] }?["lastStatus"] == .string("RUNNING"), "the second controller stopped: \(tasks)")
                _ = try await aws(second, ["ecs", "stop-task", "--task", arns[1]])
                _ = try await aws(second, ["ecs", "wait", "tasks-stopped", "--tasks", arns[1]])
            }
        }
    }

    @Test func cliCommandsWorkThroughTheEndpoint() async throws {
        let server = CLIHarness()
        let client = CLIHarness()  // a different, empty state directory: only the API can answer
        defer {
            server.cleanup()
            client.cleanup()
        }
        try await withServe(server) { endpoint in
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/long-running.json"])
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://taskdefs/hello.json"])
            let run = try await aws(endpoint, ["ecs", "run-task", "--task-definition", "long-running", "--started-by", "via-endpoint"])
            let taskArn = try #require(run.stdout.split(separator: "\"").first { $0.contains(":task/default/") }.map(String.init))
            let hello = try await aws(endpoint, ["ecs", "run-task", "--task-definition", "hello"])
            let helloArn = try #require(hello.stdout.split(separator: "\"").first { $0.contains(":task/default/") }.map(String.init))
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-running", "--tasks", taskArn])
            _ = try await aws(endpoint, ["ecs", "wait", "tasks-stopped", "--tasks", helloArn])
            let id = String(taskArn.split(separator: "/").last ?? "")

            let ps = try await client.run(["ps", "--endpoint", endpoint])
            #expect(
                ps.stdout.contains(String(id.prefix(12))) && ps.stdout.contains("long-running:1") && ps.stdout.contains("RUNNING"), "\(ps.stdout)\(ps.stderr)")
            #expect(!ps.stdout.contains(String(helloArn.split(separator: "/").last?.prefix(12) ?? "x")))
            let all = try await client.run(["ps", "-a", "--endpoint", endpoint, "--started-by", "via-endpoint", "--output", "json"])
            #expect(all.stdout.contains(taskArn) && !all.stdout.contains(helloArn))
            let helloLogs = try await client.run(["logs", String(helloArn.split(separator: "/").last?.prefix(8) ?? ""), "--endpoint", endpoint])
            #expect(helloLogs.stdout.contains("hello from AWS_ECS_FARGATE"), "\(helloLogs.stdout)\(helloLogs.stderr)")
            let described = try await client.run(["describe", String(id.prefix(10)), "--endpoint", endpoint])
            #expect(described.stdout.contains("\"taskArn\" : \"\(taskArn)\""), "\(described.stdout)")
            let stop = try await client.run(["stop", String(id.prefix(8)), "--reason", "stopped over the API", "--wait", "--endpoint", endpoint])
            #expect(stop.status == 0, "\(stop.stderr)")
            let follow = try await client.run(["logs", "-f", id, "--endpoint", endpoint])
            #expect(follow.stdout.contains("worker: got SIGTERM"))
            let after = try await client.run(["describe", id, "--endpoint", endpoint])
            #expect(after.stdout.contains("\"stoppedReason\" : \"stopped over the API\""))
            let registered = try await client.run(["register", "taskdefs/hello.json", "--endpoint", endpoint])
            #expect(
                registered.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("task-definition/hello:2"),
                "\(registered.stdout)\(registered.stderr)")
            let latest = try await client.run(["taskdefs", "hello", "--endpoint", endpoint])
            #expect(latest.stdout.contains("task-definition/hello:2"))
            let events = try await client.run(["events", "--endpoint", endpoint])
            #expect(
                events.stdout.split(separator: "\n").contains {
                    $0.contains("\"detail-type\":\"ECS Task State Change\"") && $0.contains(taskArn) && $0.contains("\"lastStatus\":\"STOPPED\"")
                }, "\(events.stdout)")
            // The client's own state directory was never used.
            #expect(!FileManager.default.fileExists(atPath: client.stateDirectory.appendingPathComponent("state.sqlite").path))
        }
    }

    /// Following through the API (GetLogEvents' forward tokens, which carry where the stream's
    /// file was read up to) prints every line once, in order, while the task writes in bursts;
    /// at the end, the token given back is the one passed in, as CloudWatch Logs does.
    @Test func logsFollowThroughTheAPIPrintsEveryLineOnce() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let client = CLIHarness()
        defer { client.cleanup() }
        try await withServe(cli) { endpoint in
            _ = try await aws(endpoint, ["ecs", "register-task-definition", "--cli-input-json", "file://Tests/Fixtures/run/bursts.json"])
            let arn = try taskArn(try await aws(endpoint, ["ecs", "run-task", "--task-definition", "bursts"]))
            let id = String(arn.split(separator: "/").last ?? "")
            let follow = try await client.run(["logs", "-f", id, "--endpoint", endpoint])
            let expected = (1...12000).map { "line \($0) of a burst that logs -f must print once\n" }.joined()
            #expect(follow.status == 0, "\(follow.stderr)")
            #expect(follow.stdout == expected, "\(follow.stdout.split(separator: "\n").count) lines: \(follow.stdout.suffix(300))")
            // More lines than one GetLogEvents page (10,000): the whole log, not its first page.
            let printed = try await client.run(["logs", id, "--endpoint", endpoint])
            #expect(printed.stdout == expected, "\(printed.stdout.split(separator: "\n").count) lines")
            let stream = ["--log-group-name", "/fargate-local/bursts", "--log-stream-name", "bursts/\(id)"]
            let head = try JSONParser.parse(try await aws(endpoint, ["logs", "get-log-events", "--start-from-head", "--limit", "9500"] + stream).stdout)
            #expect(head["events"]?.arrayValue?.count == 9500)
            let middle = try #require(head["nextForwardToken"]?.stringValue)
            #expect(middle.hasPrefix("f/9500/"), "a page that ends before the stream does, where line 9501 starts: \(middle)")
            let tail = try JSONParser.parse(try await aws(endpoint, ["logs", "get-log-events", "--start-from-head", "--next-token", middle] + stream).stdout)
            #expect(tail["events"]?.arrayValue?.first?["message"]?.stringValue == "line 9501 of a burst that logs -f must print once")
            #expect(tail["events"]?.arrayValue?.count == 2500)
            let end = try #require(tail["nextForwardToken"]?.stringValue)
            #expect(end.hasPrefix("f/12000/"), "\(end)")
            let again = try JSONParser.parse(try await aws(endpoint, ["logs", "get-log-events", "--start-from-head", "--next-token", end] + stream).stdout)
            #expect(again["events"]?.arrayValue?.isEmpty == true)
            #expect(again["nextForwardToken"]?.stringValue == end)
            // run --wait through the controller prints every line too, however many come
            // between two of its rounds (it read one page, 10,000, a round, then stopped).
            let run = try await client.run(["run", "--wait", "-q", "Tests/Fixtures/run/many-lines.json", "--endpoint", endpoint])
            let prefixed = (1...25000).map { "many | \($0)\n" }.joined()
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == prefixed, "\(run.stdout.split(separator: "\n").count) lines")
            // logs --tail through the controller: the last events only (a backward GetLogEvents).
            let manyID = try #require(try await client.run(["ps", "-a", "-q", "--endpoint", endpoint]).lines.first)
            let last = try await client.run(["logs", manyID, "--tail", "3", "--endpoint", endpoint])
            #expect(last.status == 0 && last.stdout == "24998\n24999\n25000\n", "\(last.stdout)\n\(last.stderr)")
            let none = try await client.run(["logs", manyID, "--tail", "0", "--endpoint", endpoint])
            #expect(none.status == 0 && none.stdout.isEmpty, "\(none.stdout)")
        }
    }

    @Test func runSubmitsToAReachableController() async throws {
        let server = CLIHarness()
        let client = CLIHarness()
        defer {
            server.cleanup()
            client.cleanup()
        }
        try await withServe(server) { endpoint in
            let r = try await client.run(["run", "--wait", "Tests/Fixtures/run/essential-exit.json", "--endpoint", endpoint])
            #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.contains("polite | polite: got SIGTERM"))
            #expect(r.stdout.contains("main | main: failing with 3"))
            #expect(r.stderr.contains("started by the controller at \(endpoint)"))
            let timed = try await client.run(["run", "--wait", "-q", "--timeout", "1s", "Tests/Fixtures/run/long-running.json", "--endpoint", endpoint])
            #expect(timed.status == 124, "\(timed.stderr)")
            #expect(timed.stdout.contains("worker | worker: got SIGTERM"))
            let failed = try await client.run(["run", "--wait", "Tests/Fixtures/run/never-succeeds.json", "--endpoint", endpoint])
            #expect(failed.status == 125)
            #expect(failed.stderr.contains("CannotStartContainerError"))
            // The tasks live in the server's state, not the client's.
            #expect(!FileManager.default.fileExists(atPath: client.stateDirectory.appendingPathComponent("state.sqlite").path))
            let ps = try await server.run(["ps", "-a"])
            #expect(ps.stdout.contains("essential-exit:1") && ps.stdout.contains("long-running:1"))
            // --overrides reach RunTask as its overrides (--env merged in; printed without the
            // container prefix); ones RunTask would refuse are refused before the file is registered.
            let overridden = try await client.run([
                "run", "--wait", "-q", "--no-prefix", "Tests/Fixtures/run/brief.json", "--endpoint", endpoint,
                "--overrides", #"{"containerOverrides": [{"name": "brief", "command": ["sh", "-c", "echo overridden $GREETING"]}]}"#,
                "--env", "GREETING=from-env",
            ])
            #expect(overridden.status == 0 && overridden.stdout == "overridden from-env\n", "\(overridden.stdout)\n\(overridden.stderr)")
            let refused = try await client.run([
                "run", "--wait", "Tests/Fixtures/run/essential-exit.json", "--endpoint", endpoint,
                "--overrides", #"{"containerOverrides": [{"name": "ghost"}]}"#,
            ])
            #expect(refused.status == 125, "\(refused.stderr)")
            #expect(refused.stderr.contains("Override for container named ghost is not a container in the TaskDefinition."), "\(refused.stderr)")
            let revisions = try await server.run(["taskdefs", "essential-exit", "--all"])
            #expect(revisions.lines.filter { !$0.isEmpty }.count == 1, "the refused run registered nothing: \(revisions.stdout)")
            // A detached run, and `wait` for it through the API: its exit code, as run --wait's.
            let detached = try await client.run(["run", "Tests/Fixtures/run/essential-exit.json", "--endpoint", endpoint])
            let waited = try await client.run(["wait", detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "--endpoint", endpoint])
            #expect(waited.status == 3 && waited.stdout == "3\n", "\(waited.stdout)\n\(waited.stderr)")
        }
    }
}
