import ECSModel
import Foundation

/// Reads task definition files from disk, or standard input for `-`
/// (`envsubst < td.json | fargate-local run --wait -`).
enum TaskDefinitionFile {
    /// The name that stands for standard input.
    static let standardInput = "-"

    /// Whether `argument` names a file to read (not a registered FAMILY[:REVISION]).
    static func isFile(_ argument: String) -> Bool {
        argument == standardInput || argument.hasSuffix(".json") || FileManager.default.fileExists(atPath: argument)
    }

    static func load(_ path: String, launchType: LaunchType) -> LoadedTaskDefinition {
        if path == standardInput {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            return TaskDefinitionLoader.load(bytes: Array(data), launchType: launchType)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file"
            return LoadedTaskDefinition(definition: nil, document: nil, diagnostics: [Diagnostic(.error, "", "\(reason): \(path)")])
        }
        return TaskDefinitionLoader.load(bytes: Array(data), launchType: launchType)
    }
}
