import ArgumentParser
import Controller
import ECSModel

/// `fargate-local ps`: list tasks like `docker ps`.
struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List tasks (running ones unless -a).")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Include stopped tasks.") var all = false
    @Option(help: "Only tasks of this family.") var family: String?
    @Option(name: .customLong("started-by"), help: "Only tasks with this startedBy.") var startedBy: String?
    @Option(help: "table or json (DescribeTasks' shape).") var output: String = "table"
    @Flag(name: .shortAndLong, help: "Print only task ids, one per line (for scripts: fargate-local stop $(fargate-local ps -q)).") var quiet = false

    func run() async throws {
        try await reportingErrors {
            guard ["table", "json"].contains(output) else { throw CLIError("--output must be table or json, not \"\(output)\"") }
            let tasks: [ECSTask]
            if let client = global.endpointClient {
                let arns = try await client.taskArns(includeStopped: all, family: family, startedBy: startedBy)
                tasks = try await client.tasks(arns).sorted { ($0.createdAt ?? .distantPast) > ($1.createdAt ?? .distantPast) }
            } else {
                let controller = try global.makeController()
                tasks = try await controller.store.tasks(desiredStatus: all ? nil : "RUNNING", family: family, startedBy: startedBy).map(\.task)
            }
            if quiet {
                guard output == "table" else { throw CLIError("-q prints task ids only; it cannot be used with --output \(output)") }
                if !tasks.isEmpty { Console.out(tasks.map(\.taskID).joined(separator: "\n")) }
                return
            }
            Console.out(output == "json" ? TaskOutput.json(tasks: tasks) : TaskOutput.table(tasks))
        }
    }
}
