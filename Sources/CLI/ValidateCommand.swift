import ArgumentParser
import ECSModel
import Foundation

/// `fargate-local validate FILE…`: every problem of each task definition, with its JSON path.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check task definition files against ECS's and Fargate's rules.",
        discussion: """
            Prints every problem with its JSON path. Exits 0 when all files are valid (warnings allowed), 1 otherwise. \
            Real files' nulls, unknown fields and numbers written as strings are accepted with a warning; when \
            `aws ecs register-task-definition --cli-input-json` would refuse the file as written, that is said too, in \
            botocore's words, and --strict makes it an error.
            """)

    @Argument(help: "Task definition JSON files (register-task-definition input or describe-task-definition output; - for standard input).")
    var files: [String]

    @Option(name: .customLong("launch-type"), help: "Validate against FARGATE or EC2 rules.")
    var launchType: String = "FARGATE"

    @Option(help: "text or json.")
    var output: String = "text"

    @Flag(help: "Also fail a file that `aws ecs register-task-definition --cli-input-json` refuses as written (its nulls, unknown fields, numbers as strings).")
    var strict = false

    func run() async throws {
        guard let launch = LaunchType(rawValue: launchType.uppercased()) else {
            Console.error("fargate-local: --launch-type must be FARGATE or EC2, not \"\(launchType)\"")
            throw ExitCode(2)
        }
        var allValid = true
        var results: [JSONValue] = []
        for file in files {
            let loaded = TaskDefinitionFile.load(file, launchType: launch)
            let valid = loaded.isValid && !(strict && !loaded.awsCLIRefusals.isEmpty)
            allValid = allValid && valid
            if output == "json" {
                results.append(
                    .object([
                        ("file", .string(file)),
                        ("valid", .bool(valid)),
                        ("awsCLIRefuses", .array(loaded.awsCLIRefusals.map(JSONValue.string))),
                        (
                            "diagnostics",
                            .array(
                                loaded.diagnostics.map { d in
                                    .object([("severity", .string(d.severity.rawValue)), ("path", .string(d.path)), ("message", .string(d.message))])
                                })
                        ),
                    ]))
                continue
            }
            for d in loaded.diagnostics {
                Console.out("\(file): \(d)")
            }
            let errors = loaded.diagnostics.errors.count
            let warnings = loaded.diagnostics.warnings.count
            if !loaded.awsCLIRefusals.isEmpty {
                let severity = strict ? "error" : "warning"
                Console.out(
                    "\(file): \(severity): as written, `aws ecs register-task-definition --cli-input-json` refuses this file (\(loaded.awsCLIRefusals.count) parameter\(loaded.awsCLIRefusals.count == 1 ? "" : "s")); it says:"
                )
                for line in loaded.awsCLIRefusals { Console.out("\(file):   \(line)") }
            }
            if valid {
                Console.out("\(file): valid" + (warnings > 0 ? " (\(warnings) warning\(warnings == 1 ? "" : "s"))" : ""))
            } else if loaded.isValid {
                Console.out("\(file): invalid with --strict: the aws CLI refuses it as written")
            } else {
                Console.out(
                    "\(file): invalid: \(errors) error\(errors == 1 ? "" : "s")" + (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : ""))
            }
        }
        if output == "json" { Console.out(JSONValue.array(results).serialized(pretty: true)) }
        if !allValid { throw ExitCode(1) }
    }
}
