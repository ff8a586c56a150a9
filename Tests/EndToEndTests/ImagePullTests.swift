import ECSModel
import Foundation
import TestSupport
import Testing

/// Images the engine lacks are pulled from their registry (here a registry on 127.0.0.1
/// serving `docker save debian:bookworm-slim`), with the pull said on the console; a task
/// of several containers has all its images before any starts, as ECS pulls them while the
/// task is PENDING. Fails (never skips) without a Docker engine.
struct ImagePullTests {
    /// Runs `body` with a registry serving debian:bookworm-slim as `fl-test/pulled-<id>:1`;
    /// `body` gets the image's full name and the registry's port. The pulled tag is removed after.
    func withRegistry(_ cli: CLIHarness, _ body: (String, Int) async throws -> Void) async throws {
        try await DockerRequirement.engine()
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let archive = cli.stateDirectory.appendingPathComponent("image.tar").path
        let saved = try await Command.run("docker", ["save", "-o", archive, "debian:bookworm-slim"])
        #expect(saved.status == 0, "\(saved.stderr)")
        let port = LocalServers.freePort()
        let repository = "fl-test/pulled-\(UUID().uuidString.prefix(8).lowercased())"
        let image = "127.0.0.1:\(port)/\(repository):1"
        let registry = CLIHarness.repository.appendingPathComponent("Tests/Fixtures/docker/image_registry.py").path
        let requests = cli.stateDirectory.appendingPathComponent("registry.log").path
        let outcome: Result<Void, any Error>
        do {
            try await LocalServers.withServer("/usr/bin/python3", [registry, String(port), archive, "\(repository):1", requests], port: port) {
                try await body(image, port)
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        _ = try? await Command.run("docker", ["rmi", image])
        try outcome.get()
    }

    func write(_ cli: CLIHarness, _ json: String) throws -> String {
        let file = cli.stateDirectory.appendingPathComponent("task-\(UUID().uuidString.prefix(6)).json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    @Test func aMissingImageIsPulledSaidAndRun() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withRegistry(cli) { image, _ in
            let file = try write(
                cli,
                """
                {"family": "pulled", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                 "containerDefinitions": [{"name": "app", "image": "\(image)", "command": ["cat", "/etc/debian_version"]}]}
                """)
            let r = try await cli.run(["run", "--wait", "--runtime", "docker", file])
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.contains("app | 12"), "\(r.stdout)")
            #expect(r.stderr.contains("fargate-local: pulling image \(image) for linux/amd64"), "\(r.stderr)")
            #expect(r.stderr.contains("fargate-local: pulled image \(image) in "), "\(r.stderr)")
            let present = try await Command.run("docker", ["image", "inspect", "-f", "{{.Architecture}}", image])
            #expect(present.status == 0 && present.stdout.contains("amd64"), "\(present.stderr)")
            // Present now: the next run pulls nothing.
            let again = try await cli.run(["run", "--wait", "--runtime", "docker", file])
            #expect(again.status == 0 && !again.stderr.contains("pulling image"), "\(again.stderr)")
            // DescribeTasks' imageDigest is the registry's manifest digest, as ECS gives it.
            let served = try await Command.run("docker", ["image", "inspect", "-f", "{{range .RepoDigests}}{{println .}}{{end}}", image])
            let manifest = served.stdout.split(separator: "\n").first { $0.hasPrefix(image.split(separator: ":1").first.map(String.init) ?? image) }
                .flatMap { $0.split(separator: "@").last.map(String.init) }
            let tasks = try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue ?? []
            #expect(tasks.count == 2 && manifest?.hasPrefix("sha256:") == true, "\(served.stdout)")
            for task in tasks {
                #expect(task["containers"]?.arrayValue?.first?["imageDigest"]?.stringValue == manifest, "\(task)")
            }
        }
    }

    /// Without `repositoryCredentials`, a missing image is pulled with what `docker login`
    /// stored, as the docker CLI pulls it: the registry's `auths` entry in
    /// `$DOCKER_CONFIG/config.json`, or its credential helper (which wins), given the registry
    /// on its standard input. A helper that is not there is named in the pull's error. The
    /// passwords never show.
    @Test func aPullUsesTheDockerCLIsLogin() async throws {
        try await DockerRequirement.engine()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let directory = cli.stateDirectory.appendingPathComponent("docker-config")
        let helpers = cli.stateDirectory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: helpers, withIntermediateDirectories: true)
        let seen = cli.stateDirectory.appendingPathComponent("registry.log").path
        let port = LocalServers.freePort()
        let registry = "127.0.0.1:\(port)"
        let (filePassword, helperPassword) = ("file-\(UUID().uuidString.prefix(8))", "helper-\(UUID().uuidString.prefix(8))")
        let fileAuth = Data("bob:\(filePassword)".utf8).base64EncodedString()
        func configure(_ json: String) throws { try Data(json.utf8).write(to: directory.appendingPathComponent("config.json")) }
        let helperInput = cli.stateDirectory.appendingPathComponent("helper-input").path
        let helper = helpers.appendingPathComponent("docker-credential-fltest").path
        try Data(
            "#!/bin/sh\ncat > '\(helperInput)'\necho '{\"ServerURL\": \"\(registry)\", \"Username\": \"carol\", \"Secret\": \"\(helperPassword)\"}'\n".utf8
        )
        .write(to: URL(fileURLWithPath: helper))
        #expect(chmod(helper, 0o755) == 0)
        let file = try write(
            cli,
            """
            {"family": "logged-in", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "\(registry)/private/app:v1"}]}
            """)
        let environment = ["DOCKER_CONFIG": directory.path, "PATH": helpers.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        let script = CLIHarness.repository.appendingPathComponent("Tests/Fixtures/docker/fake_registry.py").path
        try await LocalServers.withServer("/usr/bin/python3", [script, String(port), seen], port: port) {
            func basic(_ user: String, _ password: String) -> String {
                "/v2/private/app/manifests/v1 Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
            }
            func requests() -> String { (try? String(contentsOfFile: seen, encoding: .utf8)) ?? "" }

            try configure(#"{"auths": {"\#(registry)": {"auth": "\#(fileAuth)"}}}"#)
            let fromFile = try await cli.run(["run", "--wait", "--runtime", "docker", file], environment: environment)
            #expect(
                fromFile.status == 125 && fromFile.stderr.contains("CannotPullContainerError") && fromFile.stderr.contains("manifest unknown"),
                "\(fromFile.stderr)")
            #expect(requests().contains(basic("bob", filePassword)), "the registry saw: \(requests())")

            try configure(#"{"auths": {"\#(registry)": {"auth": "\#(fileAuth)"}}, "credHelpers": {"\#(registry)": "fltest"}}"#)
            let fromHelper = try await cli.run(["run", "--wait", "--runtime", "docker", file], environment: environment)
            #expect(fromHelper.status == 125, "\(fromHelper.stderr)")
            #expect(requests().contains(basic("carol", helperPassword)), "the registry saw: \(requests())")
            #expect((try? String(contentsOfFile: helperInput, encoding: .utf8)) == registry + "\n")

            try configure(#"{"credsStore": "fl-missing"}"#)
            let missing = try await cli.run(["run", "--wait", "--runtime", "docker", file], environment: environment)
            #expect(missing.status == 125, "\(missing.stderr)")
            #expect(
                missing.stderr.contains("the credential helper docker-credential-fl-missing (from the docker CLI's config.json) is not on PATH"),
                "\(missing.stderr)")

            let state = try await Command.run("/bin/sh", ["-c", "cat -v \"$0\"/state.sqlite* \"$0\"/logs/*/* 2>/dev/null", cli.stateDirectory.path])
            for haystack in [fromFile.stdout, fromFile.stderr, fromHelper.stdout, fromHelper.stderr, state.stdout] {
                #expect(!haystack.contains(filePassword) && !haystack.contains(helperPassword))
            }
        }
    }

    /// A pull that takes long (here: a registry that never answers) does not hold the task:
    /// `--timeout` stops it while it pulls, as StopTask or Ctrl-C would, and nothing is left.
    @Test func aTaskStopsWhileItsImageIsStillPulling() async throws {
        try await DockerRequirement.engine()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
        let port = LocalServers.freePort()
        let registry = CLIHarness.repository.appendingPathComponent("Tests/Fixtures/docker/hanging_registry.py").path
        try await LocalServers.withServer("/usr/bin/python3", [registry, String(port)], port: port) {
            let image = "127.0.0.1:\(port)/fl-test/slow:1"
            let report = cli.stateDirectory.appendingPathComponent("report.json").path
            let file = try write(
                cli,
                """
                {"family": "slow-pull", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                 "containerDefinitions": [{"name": "app", "image": "\(image)", "command": ["true"]}]}
                """)
            let r = try await cli.run(["run", "--wait", "--runtime", "docker", "--timeout", "2s", "--report", report, file])
            #expect(r.status == 124, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stderr.contains("pulling image \(image)"), "\(r.stderr)")
            #expect(!r.stderr.contains("CannotPullContainerError"), "the pull was waited for: \(r.stderr)")
            let doc = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: report))))
            #expect(doc["stopCode"] == .string("UserInitiated") && doc["stoppedReason"]?.stringValue?.contains("timeout") == true, "\(doc)")
            let id = String(doc["taskArn"]?.stringValue?.split(separator: "/").last ?? "")
            let left = try await Command.run("docker", ["ps", "-aq", "--filter", "label=dev.fargate-local.task-id=\(id)"])
            #expect(!id.isEmpty && left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left behind: \(left.stdout)")
        }
    }

    /// An image built here has no registry digest: its imageDigest is its image ID.
    @Test func aLocalImagesDigestIsItsID() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await cli.run(["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/uname.json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let info = try await Command.run("docker", ["image", "inspect", "-f", "{{.Id}} {{range .RepoDigests}}{{.}} {{end}}", "debian:bookworm-slim"])
        let fields = info.stdout.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        let expected = fields.dropFirst().first.flatMap { $0.split(separator: "@").last.map(String.init) } ?? fields.first
        let tasks = try JSONParser.parse(try await cli.run(["ps", "-a", "--output", "json"]).stdout)["tasks"]?.arrayValue ?? []
        #expect(
            expected?.hasPrefix("sha256:") == true && tasks.first?["containers"]?.arrayValue?.first?["imageDigest"]?.stringValue == expected,
            "\(tasks) vs \(info.stdout)")
    }

    @Test func everyImageOfATaskIsPulledBeforeAnyContainerStarts() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        try await withRegistry(cli) { image, port in
            let missing = "127.0.0.1:\(port)/fl-test/not-there:1"
            let report = cli.stateDirectory.appendingPathComponent("report.json").path
            let file = try write(
                cli,
                """
                {"family": "pull-first", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                 "containerDefinitions": [
                   {"name": "first", "image": "debian:bookworm-slim", "essential": false, "command": ["echo", "first ran"]},
                   {"name": "pulled", "image": "\(image)", "essential": false, "command": ["echo", "pulled ran"]},
                   {"name": "last", "image": "\(missing)", "command": ["true"],
                    "dependsOn": [{"containerName": "first", "condition": "SUCCESS"}]}]}
                """)
            let r = try await cli.run(["run", "--wait", "--runtime", "docker", "--report", report, file])
            #expect(r.status == 125, "\(r.stdout)\n\(r.stderr)")
            // Nothing ran: the missing image failed the task while it was still starting.
            #expect(!r.stdout.contains("first ran") && !r.stdout.contains("pulled ran"), "\(r.stdout)")
            #expect(r.stderr.contains("CannotPullContainerError: pull image manifest has been retried 1 time(s): \(missing)"), "\(r.stderr)")
            #expect(r.stderr.contains("pulling image \(missing)"), "\(r.stderr)")
            let doc = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: report))))
            #expect(doc["stopCode"] == .string("TaskFailedToStart"), "\(doc)")
            let described = try await cli.run(["ps", "-a", "--output", "json"])
            let task = try JSONParser.parse(described.stdout)["tasks"]?.arrayValue?.first
            let started = task?["pullStartedAt"]?.doubleValue
            let stopped = task?["pullStoppedAt"]?.doubleValue
            #expect(started != nil && stopped != nil && started! <= stopped!, "\(described.stdout)")
            let containers = task?["containers"]?.arrayValue ?? []
            #expect(containers.count == 3 && containers.allSatisfy { $0["exitCode"] == nil }, "\(containers)")
            // As on ECS, the container whose image could not be pulled carries the error as its reason.
            let reasons = containers.map { ($0["name"]?.stringValue ?? "", $0["reason"]?.stringValue) }
            #expect(
                reasons.first { $0.0 == "last" }?.1?.hasPrefix("CannotPullContainerError: pull image manifest has been retried 1 time(s): \(missing)") == true,
                "\(reasons)")
            #expect(reasons.filter { $0.0 != "last" }.allSatisfy { $0.1 == nil }, "\(reasons)")
        }
    }
}
