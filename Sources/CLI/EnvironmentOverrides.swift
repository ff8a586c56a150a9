import ECSModel
import Foundation

/// Turns `--env NAME=VALUE` and `--env CONTAINER:NAME=VALUE` into RunTask container overrides.
enum EnvironmentOverrides {
    /// The `--env` entries of `--env-file` files, in order: each file's NAME=VALUE lines.
    /// A line that is neither that, blank nor a comment is an error naming the file and line.
    static func entries(fromFiles paths: [String]) throws -> [String] {
        var entries: [String] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("--env-file \(path): cannot read the file", exitCode: 125)
            }
            let parsed = EnvironmentFileFormat.parse(String(decoding: data, as: UTF8.self))
            if let line = parsed.invalidLines.first {
                throw CLIError("--env-file \(path):\(line): expected NAME=VALUE (or CONTAINER:NAME=VALUE), a # comment or a blank line", exitCode: 125)
            }
            entries += parsed.variables.map { "\($0.name)=\($0.value)" }
        }
        return entries
    }

    static func parse(_ entries: [String], containers: [String]) throws -> TaskOverride {
        var perContainer: [String: [KeyValuePair]] = [:]
        for entry in entries {
            guard let eq = entry.firstIndex(of: "=") else {
                throw CLIError("--env \"\(entry)\": expected NAME=VALUE or CONTAINER:NAME=VALUE", exitCode: 125)
            }
            let key = String(entry[..<eq])
            let value = String(entry[entry.index(after: eq)...])
            var targets = containers
            var name = key
            if let colon = key.firstIndex(of: ":") {
                let container = String(key[..<colon])
                name = String(key[key.index(after: colon)...])
                guard containers.contains(container) else {
                    throw CLIError(
                        "--env \"\(entry)\": the task has no container \"\(container)\" (containers: \(containers.joined(separator: ", ")))", exitCode: 125)
                }
                targets = [container]
            }
            guard !name.isEmpty else {
                throw CLIError("--env \"\(entry)\": the variable name is empty", exitCode: 125)
            }
            for t in targets { perContainer[t, default: []].append(KeyValuePair(name: name, value: value)) }
        }
        let overrides = containers.compactMap { name -> ContainerOverride? in
            guard let env = perContainer[name] else { return nil }
            return ContainerOverride(name: name, environment: env)
        }
        return TaskOverride(containerOverrides: overrides.isEmpty ? nil : overrides)
    }
}
