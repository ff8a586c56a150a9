import ArgumentParser
import Controller
import ECSModel

/// `fargate-local wait TASK…`: waits for tasks to stop, as `docker wait` does for containers,
/// and gives their exit codes as `run --wait` would have.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until tasks have stopped; print each one's exit code.",
        discussion:
            "Prints one exit code per task, in the order given, as `run --wait` would have exited for it: the essential container's code that stopped the task, 124 when --timeout stopped it, 125 when it failed to start. Exits with the first non-zero code printed (0 when all are 0), so `fargate-local run …` (detached) and a later `fargate-local wait ID` give what `run --wait` gives."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Task ids, unambiguous id prefixes or ARNs.") var tasks: [String]

    func run() async throws {
        var codes: [Int32] = []
        try await reportingErrors {
            if let client = global.endpointClient {
                var essentialsByDefinition: [String: Set<String>] = [:]
                let arns = try await tasks.asyncMap { try await client.resolve($0) }
                for arn in arns {
                    let task = try await TaskWaiting.untilStopped(arn, through: client)
                    let definitionArn = task.taskDefinitionArn
                    if essentialsByDefinition[definitionArn] == nil {
                        let described = try await client.ecs("DescribeTaskDefinition", .object([("taskDefinition", .string(definitionArn))]))
                        let definition = described["taskDefinition"].flatMap { TaskDefinitionLoader.load(json: $0, launchType: .fargate).definition }
                        essentialsByDefinition[definitionArn] = Set(
                            definition?.containerDefinitions.filter(\.isEssential).compactMap(\.name) ?? task.containers.map(\.name))
                    }
                    codes.append(TaskWaiting.exitCode(of: task, essentials: essentialsByDefinition[definitionArn] ?? []))
                    Console.out(String(codes.last ?? 1))
                }
            } else {
                let controller = try global.makeController()
                let ids = try await tasks.asyncMap { try await controller.store.resolveTask($0).id }
                for id in ids {
                    codes.append(try await TaskWaiting.untilStopped(id, in: controller.store).waitExitCode)
                    Console.out(String(codes.last ?? 1))
                }
            }
        }
        if let failed = codes.first(where: { $0 != 0 }) { throw ExitCode(failed) }
    }
}
