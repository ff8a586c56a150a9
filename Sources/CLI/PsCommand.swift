import ArgumentParser
import Controller

/// `fargate-local ps`: list tasks like `docker ps`.
struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List tasks (running ones unless -a).")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Include stopped tasks.") var all = false
    @Option(help: "Only tasks of this family.") var family: String?
    @Option(name: .customLong("started-by"), help: "Only tasks with this startedBy.") var startedBy: String?
    @Option(help: "table or json (DescribeTasks' shape).") var output: String = "table"

    func run() async throws {
        try await reportingErrors {
            let controller = try global.makeController()
            let records = try await controller.store.tasks(desiredStatus: all ? nil : "RUNNING", family: family, startedBy: startedBy)
            switch output {
            case "json": Console.out(TaskOutput.json(tasks: records.map(\.task)))
            case "table": Console.out(TaskOutput.table(records))
            default: throw CLIError("--output must be table or json, not \"\(output)\"")
            }
        }
    }
}
