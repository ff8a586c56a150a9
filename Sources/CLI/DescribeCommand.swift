import ArgumentParser
import Controller

/// `fargate-local describe TASK…`: tasks as DescribeTasks returns them.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Describe tasks by id, id prefix or ARN (JSON, DescribeTasks' shape).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Task ids, unambiguous id prefixes or ARNs.") var tasks: [String]

    func run() async throws {
        try await reportingErrors {
            let controller = try global.makeController()
            var found: [TaskRecord] = []
            var failures: [(arn: String, reason: String)] = []
            for ref in tasks {
                do {
                    found.append(try await controller.store.resolveTask(ref))
                } catch let e as ControllerError where e.code == .notFound {
                    failures.append((ref, "MISSING"))
                }
            }
            Console.out(TaskOutput.json(tasks: found.map(\.task), failures: failures))
            if !failures.isEmpty { throw CLIError("\(failures.count) task(s) not found: \(failures.map(\.arn).joined(separator: ", "))") }
        }
    }
}
