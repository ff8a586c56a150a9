import ECSModel
import Foundation
import Testing

struct ResourceSizeTests {
    @Test(arguments: [("1024", 1024), ("1 vCPU", 1024), ("0.25 vcpu", 256), ("2 vCPUs", 2048), (" 512 ", 512)])
    func parsesCPU(text: String, units: Int) { #expect(ResourceSize.cpuUnits(text) == units) }

    @Test(arguments: ["", "one", "1.1 vCPU", "-"])
    func rejectsBadCPU(text: String) { #expect(ResourceSize.cpuUnits(text) == nil) }

    @Test(arguments: [("2048", 2048), ("2 GB", 2048), ("0.5GB", 512), ("4 GiB", 4096), ("512 MiB", 512)])
    func parsesMemory(text: String, mib: Int) { #expect(ResourceSize.memoryMiB(text) == mib) }

    @Test func fargateMemoryTable() {
        #expect(ResourceSize.fargateMemoryChoices(forCPU: 256) == [512, 1024, 2048])
        #expect(ResourceSize.fargateMemoryChoices(forCPU: 4096)?.last == 30720)
        #expect(ResourceSize.fargateMemoryChoices(forCPU: 8192)?.contains(20480) == true)
        #expect(ResourceSize.fargateMemoryChoices(forCPU: 8192)?.contains(17408) == false)
        #expect(ResourceSize.fargateMemoryChoices(forCPU: 16384)?.first == 32768)
        #expect(ResourceSize.fargateMemoryChoices(forCPU: 300) == nil)
    }
}

struct LifecycleTests {
    @Test func statusesOnlyMoveForward() throws {
        var s = TaskStatus.provisioning
        for next in TaskStatus.allCases.dropFirst() { s = try s.transition(to: next) }
        #expect(s == .stopped)
        #expect(throws: LifecycleError.self) { try TaskStatus.running.transition(to: .pending) }
        #expect(throws: LifecycleError.self) { try TaskStatus.stopped.transition(to: .stopped) }
        // A task that fails early skips straight ahead.
        #expect(try TaskStatus.provisioning.transition(to: .stopped) == .stopped)
    }

    @Test func containerStatusesOnlyMoveForward() throws {
        #expect(try ContainerStatus.pending.transition(to: .stopped) == .stopped)
        #expect(throws: LifecycleError.self) { try ContainerStatus.stopped.transition(to: .running) }
    }
}

struct LoaderTests {
    @Test func describeOutputIsUnwrappedAndReadOnlyFieldsDropped() throws {
        let loaded = TaskDefinitionLoader.load(
            text: #"""
                {"taskDefinition": {"family": "w", "revision": 4, "status": "ACTIVE", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                  "containerDefinitions": [{"name": "c", "image": "i"}]}, "tags": [{"key": "k", "value": "v"}]}
                """#)
        #expect(loaded.isValid)
        #expect(loaded.document?["revision"] == nil)
        #expect(loaded.document?["status"] == nil)
        #expect(loaded.definition?.tags == [Tag(key: "k", value: "v")])
        #expect(loaded.diagnostics.warnings.count == 2)
    }

    @Test func typesAreCoercedWhereEcsAcceptsThem() throws {
        let loaded = TaskDefinitionLoader.load(
            text: #"""
                {"family": "f", "networkMode": "awsvpc", "cpu": 1024, "memory": "2 GB",
                 "containerDefinitions": [{"name": "c", "image": "i", "memory": "256", "essential": "false"}, {"name": "d", "image": "i"}]}
                """#)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        #expect(loaded.definition?.cpu == "1024")
        #expect(loaded.definition?.containerDefinitions[0].memory == 256)
        #expect(loaded.definition?.containerDefinitions[0].essential == false)
    }

    @Test func everyProblemIsReportedNotJustTheFirst() {
        let loaded = TaskDefinitionLoader.load(
            text: #"""
                {"family": "bad name!", "networkMode": "bridge", "containerDefinitions": [{"name": "", "image": ""}]}
                """#)
        let paths = Set(loaded.diagnostics.errors.map(\.path))
        #expect(paths.isSuperset(of: ["family", "networkMode", "cpu", "memory", "containerDefinitions[0].name", "containerDefinitions[0].image"]))
    }

    /// An empty string is dropped as absent where a field may be absent; where the field is
    /// required, it is an error that names the field, not a decoding failure.
    @Test func anEmptyRequiredFieldIsAnErrorAtItsPath() {
        let loaded = TaskDefinitionLoader.load(
            text: #"""
                {"family": "f", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                 "containerDefinitions": [{"name": "c", "image": "i", "logConfiguration": {"logDriver": ""},
                                           "dependsOn": [{"containerName": "d", "condition": ""}]},
                                          {"name": "d", "image": "i", "essential": false}]}
                """#)
        #expect(!loaded.isValid)
        let errors = loaded.diagnostics.errors.map { "\($0.path): \($0.message)" }
        #expect(
            errors.sorted() == [
                "containerDefinitions[0].dependsOn[0].condition: is required; an empty value was given",
                "containerDefinitions[0].logConfiguration.logDriver: is required; an empty value was given",
            ], "\(loaded.diagnostics)")
        #expect(!loaded.diagnostics.contains { $0.path.hasSuffix("logDriver") && $0.severity == .warning }, "\(loaded.diagnostics)")
    }

    @Test func aDecodingFailureNamesItsPath() throws {
        struct Inner: Decodable { let logDriver: String }
        struct Outer: Decodable { let containerDefinitions: [[String: Inner]] }
        do {
            _ = try JSONDecoder().decode(Outer.self, from: Data(#"{"containerDefinitions": [{"logConfiguration": {}}]}"#.utf8))
            Issue.record("decoded")
        } catch {
            let d = TaskDefinitionLoader.diagnostic(for: error)
            #expect(d.severity == .error && d.path == "containerDefinitions[0].logConfiguration.logDriver" && d.message == "is required", "\(d)")
        }
    }

    @Test func topLevelMustBeAnObject() {
        let loaded = TaskDefinitionLoader.load(text: "[1]")
        #expect(!loaded.isValid)
        #expect(loaded.diagnostics.errors.first?.message.contains("JSON object") == true)
    }

    @Test func placeholderDetection() {
        #expect(Placeholder.find(in: "<IMAGE1_NAME>") == "<IMAGE1_NAME>")
        #expect(Placeholder.find(in: "arn:${ACCOUNT}:x") == "${ACCOUNT}")
        #expect(Placeholder.find(in: "{{ image }}") == "{{ image }}")
        #expect(Placeholder.find(in: "a < b > c") == nil || Placeholder.find(in: "a < b > c") == "< b >")
        #expect(Placeholder.find(in: "nginx:1.25") == nil)
    }

    @Test func jsonPathsQuoteOddKeys() {
        #expect(JSONPath().member("a").index(2).member("b").text == "a[2].b")
        #expect(JSONPath().member("dockerLabels").member("com.example/x").text == #"dockerLabels["com.example/x"]"#)
    }
}
