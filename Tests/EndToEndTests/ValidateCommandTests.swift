import ECSModel
import Foundation
import TestSupport
import Testing

/// `fargate-local validate` on the shipped task definitions and every fixture.
struct ValidateCommandTests {
    @Test func shippedTaskDefinitionsValidate() async throws {
        let cli = CLIHarness()
        let files = try FileManager.default.contentsOfDirectory(atPath: CLIHarness.repository.appendingPathComponent("taskdefs").path)
            .filter { $0.hasSuffix(".json") }.sorted().map { "taskdefs/\($0)" }
        #expect(!files.isEmpty)
        let r = try await cli.run(["validate"] + files, stateDir: false)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        for file in files { #expect(r.stdout.contains("\(file): valid")) }
    }

    @Test func fixturesGetTheRightVerdictAndPaths() async throws {
        let cli = CLIHarness()
        let data = try Data(contentsOf: CLIHarness.repository.appendingPathComponent("Tests/Fixtures/validate/expectations.json"))
        let expectations = try JSONParser.parse(Array(data))
        for (file, expectation) in expectations.objectMembers ?? [] {
            let r = try await cli.run(["validate", "Tests/Fixtures/validate/\(file)"], stateDir: false)
            let valid = expectation["valid"] == .bool(true)
            #expect(r.status == (valid ? 0 : 1), "\(file): \(r.stdout)")
            guard case let .array(errors)? = expectation["errors"] else { continue }
            for e in errors {
                guard case let .array(pair) = e, let path = pair[0].stringValue else { continue }
                let prefix = path.isEmpty ? "error: " : "error: \(path): "
                #expect(r.stdout.contains(prefix), "\(file): expected \(prefix) in \(r.stdout)")
            }
        }
    }

    /// Real files' nulls, unknown fields and numbers as strings are accepted with warnings,
    /// and validate says, line for line in botocore's own words, what the real
    /// `aws ecs register-task-definition --cli-input-json` says of each file as written (no
    /// line when it takes the file); with --strict those files fail.
    @Test func whatTheAwsCLIRefusesIsSaidInItsWords() async throws {
        let cli = CLIHarness()
        let root = CLIHarness.repository
        var files: [String] = []
        for folder in ["Tests/Fixtures/validate", "Tests/Fixtures/validate-aws-cli", "taskdefs"] {
            files += try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)
                .filter { $0.hasSuffix(".json") && $0 != "expectations.json" && !$0.hasPrefix("malformed") }.sorted().map { "\(folder)/\($0)" }
        }
        var refusedFiles = 0
        for file in files {
            // The CLI checks parameters before it sends anything: a file it takes fails only
            // to connect to this closed port.
            let aws = try await Command.run(
                "aws",
                [
                    "ecs", "register-task-definition", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:1",
                    "--cli-input-json", "file://\(file)",
                ],
                environment: ["AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_MAX_ATTEMPTS": "1"], workingDirectory: root.path)
            let said = aws.stderr.split(separator: "\n").map(String.init)
            let expected =
                said.first(where: { $0.contains("Parameter validation failed") }) == nil
                ? [] : Array(said.drop { !$0.contains("Parameter validation failed") }.dropFirst())
            #expect(expected.isEmpty == aws.stderr.contains("Could not connect to the endpoint URL"), "\(file): \(aws.stderr)")
            let r = try await cli.run(["validate", "--output", "json", file], stateDir: false)
            let reported = (try JSONParser.parse(r.stdout).arrayValue?.first?["awsCLIRefuses"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(reported == expected, "\(file)")
            if !expected.isEmpty {
                refusedFiles += 1
                let strict = try await cli.run(["validate", "--strict", file], stateDir: false)
                #expect(
                    strict.status == 1 && strict.stdout.contains("error: as written, `aws ecs register-task-definition --cli-input-json` refuses this file"),
                    "\(file): \(strict.stdout)")
            }
        }
        #expect(refusedFiles >= 8, "\(refusedFiles) of \(files.count)")
        let lenient = try await cli.run(["validate", "Tests/Fixtures/validate-aws-cli/types-and-strings.json"], stateDir: false)
        #expect(
            lenient.status == 0
                && lenient.stdout.contains("warning: as written, `aws ecs register-task-definition --cli-input-json` refuses this file (3 parameters)"),
            "\(lenient.stdout)")
    }

    @Test func allFilesAreCheckedAndJsonOutputIsStructured() async throws {
        let cli = CLIHarness()
        let r = try await cli.run(
            ["validate", "--output", "json", "taskdefs/hello.json", "Tests/Fixtures/validate/fargate-bad-cpu.json", "missing.json"], stateDir: false)
        #expect(r.status == 1)
        let doc = try JSONParser.parse(r.stdout)
        guard case let .array(items) = doc else {
            Issue.record("not an array: \(r.stdout)")
            return
        }
        #expect(items.count == 3)
        #expect(items[0]["valid"] == .bool(true))
        #expect(items[1]["valid"] == .bool(false))
        #expect(items[1]["diagnostics"]?.serialized().contains("Invalid 'cpu' setting for task.") == true)
        #expect(items[2]["valid"] == .bool(false))
    }

    @Test func ec2RulesOnRequest() async throws {
        let cli = CLIHarness()
        let file = "Tests/Fixtures/validate/ec2-no-memory.json"
        #expect(try await cli.run(["validate", file], stateDir: false).status == 0)
        let r = try await cli.run(["validate", "--launch-type", "EC2", file], stateDir: false)
        #expect(r.status == 1)
        #expect(r.stdout.contains("At least one of 'memory' or 'memoryReservation' must be specified."))
    }
}
