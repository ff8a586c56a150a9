import ECSModel
import Foundation

/// `run --overrides`: RunTask's `overrides`, given as `aws ecs run-task --overrides` takes
/// them (JSON, or `file://PATH` holding it), with the `--env` and `--env-file` entries merged in.
enum RunOverrides {
    /// The overrides `text` gives, shape-checked as RunTask checks them; an error names the
    /// option and the JSON path of what is wrong. Nil for no `--overrides`.
    static func parse(_ text: String?) throws -> TaskOverride? {
        guard let text else { return nil }
        var json = text
        var source = "--overrides"
        if text.hasPrefix("file://") {
            let path = String(text.dropFirst("file://".count))
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("--overrides \(text): cannot read the file", exitCode: 125)
            }
            json = String(decoding: data, as: UTF8.self)
            source = "--overrides \(text)"
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(json)
        } catch {
            throw CLIError(
                "\(source): not valid JSON (\(error)); expected RunTask's overrides, e.g. {\"containerOverrides\": [{\"name\": \"app\", \"command\": [\"sh\", \"-c\", \"...\"]}]}",
                exitCode: 125)
        }
        do {
            return try TaskOverrideRules.decode(value)
        } catch {
            throw CLIError("\(source): \(error.message)", exitCode: 125)
        }
    }

    /// `given` with the `environment` overrides (from `--env` and `--env-file`) merged in: a
    /// container's variables join its override's, a variable of the same name replaced.
    static func merging(_ environment: TaskOverride, into given: TaskOverride?) -> TaskOverride {
        guard var merged = given else { return environment }
        for extra in environment.containerOverrides ?? [] {
            let added = extra.environment ?? []
            if let i = merged.containerOverrides?.firstIndex(where: { $0.name == extra.name }) {
                let names = Set(added.compactMap(\.name))
                let kept = (merged.containerOverrides?[i].environment ?? []).filter { !names.contains($0.name ?? "") }
                merged.containerOverrides?[i].environment = kept + added
            } else {
                merged.containerOverrides = (merged.containerOverrides ?? []) + [extra]
            }
        }
        return merged
    }

    /// Refuses, as RunTask would, overrides that `definition` cannot take (a container it does
    /// not have, a task size Fargate does not offer).
    static func check(_ overrides: TaskOverride, against definition: TaskDefinition) throws {
        if let refusal = TaskOverrideRules.refusal(of: overrides, for: definition) {
            let exception = if case .client = refusal { "ClientException" } else { "InvalidParameterException" }
            throw CLIError("--overrides: \(refusal.message) (RunTask: \(exception)); nothing was run", exitCode: 125)
        }
    }
}
