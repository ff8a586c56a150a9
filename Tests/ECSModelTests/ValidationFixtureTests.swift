import ECSModel
import Foundation
import Testing

/// Each fixture under Tests/Fixtures/validate gets exactly the errors listed in expectations.json.
struct ValidationFixtureTests {
    struct Expectation {
        var valid: Bool
        var errors: [(String, String)]
        var warnings: [(String, String)]
    }

    static func expectations() throws -> [(String, Expectation, LaunchType)] {
        let data = try Data(contentsOf: FixturePaths.validate("expectations.json"))
        let root = try JSONParser.parse(Array(data))
        var out: [(String, Expectation, LaunchType)] = []
        func pairs(_ v: JSONValue?) -> [(String, String)] {
            guard case let .array(items)? = v else { return [] }
            return items.compactMap { item in
                guard case let .array(p) = item, p.count == 2, let a = p[0].stringValue, let b = p[1].stringValue else { return nil }
                return (a, b)
            }
        }
        func expectation(_ v: JSONValue) -> Expectation {
            Expectation(valid: v["valid"] == .bool(true), errors: pairs(v["errors"]), warnings: pairs(v["warnings"]))
        }
        for (file, value) in root.objectMembers ?? [] {
            out.append((file, expectation(value), .fargate))
            if let ec2 = value["ec2"] { out.append((file, expectation(ec2), .ec2)) }
        }
        return out
    }

    @Test func everyFixtureHasAnExpectation() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: FixturePaths.root.appendingPathComponent("validate").path)
            .filter { $0.hasSuffix(".json") && $0 != "expectations.json" }
        let expected = Set(try Self.expectations().map(\.0))
        #expect(Set(files) == expected)
        #expect(files.count >= 25)
    }

    @Test func fixturesGetExactlyTheExpectedFindings() throws {
        for (file, expectation, launchType) in try Self.expectations() {
            let data = try Data(contentsOf: FixturePaths.validate(file))
            let loaded = TaskDefinitionLoader.load(bytes: Array(data), launchType: launchType)
            let context = "\(file) (\(launchType.rawValue)): \(loaded.diagnostics.map(\.description).joined(separator: " | "))"
            #expect(loaded.isValid == expectation.valid, "\(context)")
            #expect(loaded.diagnostics.errors.count == expectation.errors.count, "\(context)")
            for (path, text) in expectation.errors {
                #expect(
                    loaded.diagnostics.errors.contains { $0.path == path && $0.message.contains(text) },
                    "missing error at \(path) containing \(text): \(context)")
            }
            for (path, text) in expectation.warnings {
                #expect(
                    loaded.diagnostics.warnings.contains { $0.path == path && $0.message.contains(text) },
                    "missing warning at \(path) containing \(text): \(context)")
            }
        }
    }

    @Test func shippedTaskDefinitionsAreValid() throws {
        let dir = FixturePaths.repository.appendingPathComponent("taskdefs")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        #expect(!files.isEmpty)
        for file in files {
            let loaded = TaskDefinitionLoader.load(bytes: Array(try Data(contentsOf: dir.appendingPathComponent(file))))
            #expect(loaded.isValid, "\(file): \(loaded.diagnostics)")
        }
    }
}
