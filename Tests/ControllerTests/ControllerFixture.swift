import Controller
import ECSModel
import Foundation

/// A controller on a fresh temporary state directory, removed by `cleanup()`.
struct ControllerFixture {
    let directory: URL
    let controller: TaskController

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fl-test-\(UUID().uuidString)", isDirectory: true)
        controller = try TaskController(configuration: ControllerConfiguration(stateDirectory: directory, region: "eu-west-1"))
    }

    func cleanup() { try? FileManager.default.removeItem(at: directory) }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Loads and registers a task definition from JSON text.
    func register(_ text: String) async throws -> TaskDefinition {
        let loaded = TaskDefinitionLoader.load(text: text)
        guard loaded.isValid else { throw ControllerError(.invalidInput, "\(loaded.diagnostics)") }
        return try await controller.register(loaded, reuseIdentical: true)
    }

    /// Loads and registers a task definition file relative to the repository.
    func register(file: String) async throws -> TaskDefinition {
        try await register(String(decoding: try Data(contentsOf: Self.repository.appendingPathComponent(file)), as: UTF8.self))
    }

    /// Runs a task to STOPPED with real subprocesses, recording what it reported.
    func run(_ definition: TaskDefinition, overrides: TaskOverride = TaskOverride(), options: RunOptions = RunOptions()) async throws -> (
        TaskRecord, RecordingConsole
    ) {
        let record = try await controller.createTask(definition: definition, overrides: overrides, options: options)
        let console = RecordingConsole()
        let final = await controller.supervisor(for: record, runtime: ProcessRuntime(), console: console).run()
        return (final, console)
    }
}

/// Keeps every event and output line a task reported, in order.
actor RecordingConsole: TaskConsole {
    private(set) var entries: [String] = []

    func output(container: String, lines: [String]) {
        for line in lines { entries.append("\(container) | \(line)") }
    }

    func event(_ message: String) { entries.append(message) }

    /// The position of the first entry containing `text`, or nil.
    func position(_ text: String) -> Int? { entries.firstIndex { $0.contains(text) } }
}

extension TaskRecord {
    func container(_ name: String) -> Container? { task.containerIndex(name).map { task.containers[$0] } }
}
