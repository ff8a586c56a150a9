import ArgumentParser

/// The `fargate-local` command and its subcommands.
public struct FargateLocalCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fargate-local",
        abstract: "Run Amazon ECS/Fargate task definitions locally, the way Fargate runs them.",
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, RunCommand.self, RegisterCommand.self, TaskDefinitionsCommand.self,
            PsCommand.self, DescribeCommand.self, LogsCommand.self, StopCommand.self, EventsCommand.self, ServeCommand.self, SuperviseCommand.self, ShimCommand.self,
        ])

    public init() {}
}

extension FargateLocalCommand {
    /// Parses the process's arguments and runs the chosen subcommand, exiting with its status.
    public static func runFromCommandLine() async -> Never {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit()
        } catch {
            exit(withError: error)
        }
    }
}
