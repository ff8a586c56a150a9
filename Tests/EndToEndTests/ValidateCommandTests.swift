import ECSModel
import Foundation
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

    @Test func allFilesAreCheckedAndJsonOutputIsStructured() async throws {
        let cli = CLIHarness()
        let r = try await cli.run(["validate", "--output", "json", "taskdefs/hello.json", "Tests/Fixtures/validate/fargate-bad-cpu.json", "missing.json"], stateDir: false)
        #expect(r.status == 1)
        let doc = try JSONParser.parse(r.stdout)
        guard case let .array(items) = doc else { Issue.record("not an array: \(r.stdout)"); return }
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
