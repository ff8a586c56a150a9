import ArgumentParser
import Controller
import ECSModel

/// `fargate-local register FILE`: RegisterTaskDefinition — a new revision of the family.
struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "register", abstract: "Register a task definition file as a new revision of its family.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Task definition JSON file.") var file: String

    func run() async throws {
        try await reportingErrors {
            let loaded = TaskDefinitionFile.load(file, launchType: .fargate)
            for d in loaded.diagnostics { Console.error("\(file): \(d)") }
            guard loaded.isValid else { throw CLIError("\(file) is not a valid task definition; nothing was registered") }
            if let client = global.endpointClient, let document = loaded.document {
                let result = try await client.ecs("RegisterTaskDefinition", document)
                Console.out(result["taskDefinition"]?["taskDefinitionArn"]?.stringValue ?? "")
                return
            }
            let controller = try global.makeController()
            let registered = try await controller.register(loaded, reuseIdentical: false)
            Console.out(registered.taskDefinitionArn ?? "")
        }
    }
}

/// `fargate-local taskdefs [FAMILY]`: registered task definitions.
struct TaskDefinitionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "taskdefs", abstract: "Show the latest registered revision of a family.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "FAMILY or FAMILY:REVISION.") var family: String

    func run() async throws {
        try await reportingErrors {
            if let client = global.endpointClient {
                let result = try await client.ecs("DescribeTaskDefinition", .object([("taskDefinition", .string(family))]))
                Console.out(result["taskDefinition"]?["taskDefinitionArn"]?.stringValue ?? "")
                return
            }
            let controller = try global.makeController()
            guard let td = try await controller.store.taskDefinition(family) else { throw CLIError("no task definition \"\(family)\" is registered") }
            Console.out(td.taskDefinitionArn ?? "")
        }
    }
}
