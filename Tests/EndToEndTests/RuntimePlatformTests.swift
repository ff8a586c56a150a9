import ECSModel
import Foundation
import TestSupport
import Testing

/// A task's `runtimePlatform`, as Fargate honours it: its containers run images of its
/// architecture (under emulation when this host's differs), an image of another architecture
/// fails the task as it would on Fargate, and a Windows task is refused. These tests fail
/// (never skip) without a Docker engine, the arm64 test image or ARM64 emulation: the
/// README's test command and CI install them (scripts/setup-machine,
/// scripts/build-arm64-test-image).
struct RuntimePlatformTests {
    static let arm64Image = "fargate-local-test/arm64-busybox:latest"

    func requireDocker() async throws {
        try await DockerRequirement.engine()
    }

    /// This host's `uname -m`.
    static var machine: String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static var hostIsArm64: Bool { machine == "aarch64" }

    func requireArm64() async throws {
        try await requireDocker()
        let image = try await Command.run("docker", ["image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", Self.arm64Image])
        guard image.status == 0, image.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "linux/arm64" else {
            throw LocalServers.ServerError(description: "\(Self.arm64Image) is missing; run scripts/build-arm64-test-image")
        }
        if !Self.hostIsArm64 {
            let entry = (try? String(contentsOfFile: "/proc/sys/fs/binfmt_misc/qemu-aarch64", encoding: .utf8)) ?? ""
            guard entry.hasPrefix("enabled"), entry.split(separator: "\n").contains(where: { $0.hasPrefix("flags:") && $0.contains("F") }) else {
                throw LocalServers.ServerError(
                    description: "no ARM64 emulation is registered in binfmt_misc (qemu-aarch64, with the F flag); run scripts/setup-machine (qemu-user-static)"
                )
            }
        }
    }

    func run(_ cli: CLIHarness, _ file: String, runtime: String = "docker", _ extra: [String] = []) async throws -> CLIHarness.Result {
        try await cli.run(["run", "--wait", "--runtime", runtime, "Tests/Fixtures/docker/\(file)"] + extra)
    }

    @Test func arm64TaskRunsItsArm64Images() async throws {
        try await requireArm64()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let path = cli.stateDirectory.appendingPathComponent("r.json").path
        // Traced: a failing run's stderr says when each container's log stream began and ended.
        let r = try await cli.run(
            ["run", "--wait", "--runtime", "docker", "Tests/Fixtures/docker/arm64.json", "--report", path], environment: ["FARGATE_LOCAL_TRACE": "1"])
        // Both containers ran the arm64 busybox, joined to the task's pause container (native).
        #expect(r.status == 7, "\(r.stdout)\n\(r.stderr)")
        if !r.stdout.contains("side | side-arch=aarch64") || !r.stdout.contains("main | main-arch=aarch64") {
            // Diagnosis: whether the lines reached the task's log streams at all.
            let ps = try await cli.run(["ps", "-a", "--output", "json"])
            let id = String(try JSONParser.parse(ps.stdout)["tasks"]?.arrayValue?.first?["taskArn"]?.stringValue?.split(separator: "/").last ?? "")
            let logs = try await cli.run(["logs", id])
            Issue.record(
                "a container's output is missing from run's output: \(r.stdout)\n\(r.stderr)\nits log streams: \(logs.stdout)\(logs.stderr)\ntask: \(ps.stdout)"
            )
        }
        if !Self.hostIsArm64 {
            #expect(r.stderr.contains("run linux/arm64 images under emulation"), "\(r.stderr)")
        }
        let report = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(report["stopCode"] == .string("EssentialContainerExited"))
    }

    @Test func arm64TaskWithAnAmd64OnlyImageFailsToPullAsOnFargate() async throws {
        try await requireDocker()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "arm64-with-amd64-image.json")
        #expect(r.status == 125, "\(r.stdout)\n\(r.stderr)")
        #expect(
            r.stderr.contains(
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): image Manifest does not contain descriptor matching platform 'linux/arm64'"
            ), "\(r.stderr)")
        #expect(r.stderr.contains("debian:bookworm-slim is linux/amd64 here"), "\(r.stderr)")
        // The container never ran: uname's answer is nowhere.
        #expect(!r.stdout.contains("x86_64") && !r.stdout.contains("aarch64"), "\(r.stdout)")
        // The engine's image is still the amd64 one.
        let arch = try await Command.run("docker", ["image", "inspect", "-f", "{{.Architecture}}", "debian:bookworm-slim"])
        #expect(arch.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "amd64")
    }

    /// No runtimePlatform is Fargate's X86_64: an image built only for arm64 (an image built
    /// on an ARM laptop) fails here as it would on Fargate.
    @Test func defaultPlatformIsX86AndRefusesAnArm64OnlyImage() async throws {
        try await requireArm64()
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "default-with-arm64-image.json")
        #expect(r.status == 125, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("image Manifest does not contain descriptor matching platform 'linux/amd64'"), "\(r.stderr)")
        #expect(r.stderr.contains("\(Self.arm64Image) is linux/arm64 here"), "\(r.stderr)")
        let described = try await cli.run(["ps", "-a", "--output", "json"])
        let tasks = try JSONParser.parse(described.stdout)["tasks"]?.arrayValue ?? []
        #expect(tasks.first?["stopCode"] == .string("TaskFailedToStart"), "\(described.stdout)")
    }

    @Test func processRuntimeSaysItRunsTheHostsArchitecture() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "arm64-with-amd64-image.json", runtime: "process")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("app | \(Self.machine)"), "\(r.stdout)")
        if !Self.hostIsArm64 {
            #expect(
                r.stderr.contains("warning: the task's runtimePlatform.cpuArchitecture is ARM64; the process runtime runs this X86_64 host's own executables"),
                "\(r.stderr)")
        }
    }

    /// A Windows task registers (ECS accepts it) but is refused at RunTask, by the CLI with
    /// exit 125 and by the API with ECS's PlatformTaskDefinitionIncompatibilityException;
    /// nothing is left running or recorded as a task.
    @Test func windowsTaskIsRefusedByRunAndRunTask() async throws {
        let cli = CLIHarness()
        defer { cli.cleanup() }
        let r = try await run(cli, "windows.json", runtime: "process")
        #expect(r.status == 125, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("runtimePlatform.operatingSystemFamily WINDOWS_SERVER_2022_CORE"), "\(r.stderr)")
        #expect(r.stderr.contains("Linux containers only"), "\(r.stderr)")
        let ps = try await cli.run(["ps", "-a", "--output", "json"])
        let tasks = try JSONParser.parse(ps.stdout)["tasks"]?.arrayValue
        #expect(tasks?.isEmpty == true, "\(ps.stdout)")

        let port = LocalServers.freePort()
        try await LocalServers.withServer(
            CLIHarness.binary, ["serve", "--runtime", "process", "--port", String(port), "--state-dir", cli.stateDirectory.path], port: port
        ) {
            let env = ["AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any", "AWS_DEFAULT_REGION": "us-east-1"]
            let endpoint = "http://127.0.0.1:\(port)"
            let run = try await Command.run("aws", ["--endpoint-url", endpoint, "ecs", "run-task", "--task-definition", "windows-task"], environment: env)
            #expect(run.status != 0, "\(run.stdout)")
            #expect(run.stderr.contains("(PlatformTaskDefinitionIncompatibilityException)"), "\(run.stderr)")
            #expect(run.stderr.contains("WINDOWS_SERVER_2022_CORE"), "\(run.stderr)")
            let listed = try await Command.run(
                "aws", ["--endpoint-url", endpoint, "--output", "json", "ecs", "list-tasks", "--desired-status", "STOPPED"], environment: env)
            let arns = try JSONParser.parse(listed.stdout)["taskArns"]?.arrayValue
            #expect(listed.status == 0 && arns?.isEmpty == true, "\(listed.stdout)")
        }
    }
}
