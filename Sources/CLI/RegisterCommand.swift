import ArgumentParser
import Controller
import ECSModel

/// `fargate-local register FILE`: RegisterTaskDefinition — a new revision of the family.
struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "register", abstract: "Register a task definition file as a new revision of its family.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Task definition JSON file (- for standard input).") var file: String

    func run() async throws {
        try await reportingErrors {
            let loaded = TaskDefinitionFile.load(file, launchType: .fargate)
            for d in loaded.diagnostics { Console.error("\(file): \(d)") }
            if !loaded.awsCLIRefusals.isEmpty {
                Console.error(
                    "\(file): warning: as written, `aws ecs register-task-definition --cli-input-json` refuses this file (\(loaded.awsCLIRefusals.count) parameter\(loaded.awsCLIRefusals.count == 1 ? "" : "s"); `fargate-local validate` shows what it says)"
                )
            }
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

/// `fargate-local taskdefs [FAMILY[:REV]]`: registered task definitions (ListTaskDefinitions).
struct TaskDefinitionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskdefs",
        abstract: "List registered task definitions: every ACTIVE revision, a family's, or one FAMILY:REVISION.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "FAMILY or FAMILY:REVISION.") var family: String?
    @Flag(help: "Include INACTIVE (deregistered) and DELETE_IN_PROGRESS revisions.") var all = false

    func run() async throws {
        try await reportingErrors {
            if let family, family.contains(":") {
                if let client = global.endpointClient {
                    let result = try await client.ecs("DescribeTaskDefinition", .object([("taskDefinition", .string(family))]))
                    Console.out(result["taskDefinition"]?["taskDefinitionArn"]?.stringValue ?? "")
                } else {
                    guard let td = try await global.makeController().store.taskDefinition(family) else {
                        throw CLIError("no task definition \"\(family)\" is registered")
                    }
                    Console.out(td.taskDefinitionArn ?? "")
                }
                return
            }
            var arns: [String] = []
            if global.endpointClient == nil { try await global.makeController().store.purgeDeletedTaskDefinitions() }
            for status in all ? ["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"] : ["ACTIVE"] {
                if let client = global.endpointClient {
                    var token: String?
                    repeat {
                        var body: [(key: String, value: JSONValue)] = [("status", .string(status))]
                        if let family { body.append(("familyPrefix", .string(family))) }
                        if let token { body.append(("nextToken", .string(token))) }
                        let page = try await client.ecs("ListTaskDefinitions", .object(body))
                        if case let .array(items)? = page["taskDefinitionArns"] { arns += items.compactMap(\.stringValue) }
                        token = page["nextToken"]?.stringValue
                    } while token != nil
                } else {
                    arns += try await global.makeController().store.taskDefinitionArns(familyPrefix: family, status: status, descending: false)
                }
            }
            // A family argument means that family, not every family sharing its prefix.
            if let family { arns = arns.filter { $0.split(separator: "/").last?.split(separator: ":").first.map(String.init) == family } }
            if arns.isEmpty, let family { throw CLIError("no task definition \"\(family)\" is registered") }
            for arn in arns { Console.out(arn) }
        }
    }
}
