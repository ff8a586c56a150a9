import ArgumentParser
import Controller
import ECSModel

/// `fargate-local describe TASK…`: tasks as DescribeTasks returns them.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Describe tasks by id, id prefix or ARN (JSON, DescribeTasks' shape).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Task ids, unambiguous id prefixes or ARNs.") var tasks: [String]
    @Option(help: "json (DescribeTasks' shape, the default) or table.") var output: String = "json"

    func run() async throws {
        try await reportingErrors {
            var found: [ECSTask] = []
            var failures: [(arn: String, reason: String)] = []
            if let client = global.endpointClient {
                for ref in tasks {
                    if let arn = try? await client.resolve(ref), let task = try await client.tasks([arn]).first {
                        found.append(task)
                    } else {
                        failures.append((ref, "MISSING"))
                    }
                }
            } else {
                let controller = try global.makeController()
                for ref in tasks {
                    do {
                        found.append(try await controller.store.resolveTask(ref).task)
                    } catch let e as ControllerError where e.code == .notFound {
                        failures.append((ref, "MISSING"))
                    }
                }
            }
            switch output {
            case "json": Console.out(TaskOutput.json(tasks: found, failures: failures))
            case "table": Console.out(TaskOutput.table(found))
            default: throw CLIError("--output must be json or table, not \"\(output)\"")
            }
            if !failures.isEmpty { throw CLIError("\(failures.count) task(s) not found: \(failures.map(\.arn).joined(separator: ", "))") }
        }
    }
}
