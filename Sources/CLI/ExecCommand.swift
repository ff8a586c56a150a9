import ArgumentParser
import Controller
import ECSModel
import Foundation

/// `fargate-local exec TASK [-c CONTAINER] -- COMMAND…`: a command in a running container,
/// as `aws ecs execute-command` runs one on Fargate.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a running container of a task (like aws ecs execute-command).",
        discussion:
            "The command runs in the container's filesystem with its environment, with exec's stdin; its output is printed and its exit code is exec's. -t gives it a terminal, for an interactive shell: fargate-local exec -it TASK -- bash."
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .shortAndLong, help: "The container (required when the task has more than one).") var container: String?
    @Flag(name: .shortAndLong, help: "Give the command a terminal, as docker exec -t; this one is put in raw mode meanwhile.") var tty = false
    @Flag(name: .shortAndLong, help: "Accepted as docker exec -i is: stdin always goes to the command.") var interactive = false
    @Argument(help: "Task id, unambiguous id prefix or ARN.") var task: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).") var command: [String] = []

    func run() async throws {
        try await reportingErrors {
            if global.endpointClient != nil {
                throw CLIError(
                    "exec reads the task's state directory (--state-dir of the controller that runs it), not an --endpoint: ECS's ExecuteCommand needs a Session Manager session"
                )
            }
            let (named, argv, laterTTY) = try Self.split(command)
            guard !argv.isEmpty else { throw CLIError("no command given: fargate-local exec TASK [-c CONTAINER] [-t] -- COMMAND [ARGS...]") }
            let container = named ?? self.container
            let controller = try global.makeController()
            let record = try await controller.store.resolveTask(task)
            let names = record.task.containers.map(\.name)
            let name: String
            if let container {
                guard names.contains(container) else {
                    throw CLIError("task \(record.id) has no container \"\(container)\"; its containers: \(names.joined(separator: ", "))")
                }
                name = container
            } else {
                guard names.count == 1, let only = names.first else {
                    throw CLIError("task \(record.id) has \(names.count) containers (\(names.joined(separator: ", "))): name one with --container")
                }
                name = only
            }
            if record.task.enableExecuteCommand != true {
                // Runs anyway: locally exec needs no agent. But the same script would fail on ECS.
                Console.error(
                    "fargate-local: warning: task \(record.id) was not run with enableExecuteCommand (run --enable-execute-command); ECS's ExecuteCommand would refuse it (InvalidParameterException: The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running.)"
                )
            }
            let code = try await ContainerExec.run(argv, in: name, of: record, tty: tty || laterTTY)
            throw ExitCode(Int32(truncatingIfNeeded: code))
        }
    }

    /// What follows the task: `-c NAME` / `--container NAME` / `--container=NAME` and `-t`,
    /// `-i`, `-it` may still come before the command (as `aws ecs execute-command
    /// --container` and `docker exec -it` users write them), which starts at `--` or at the
    /// first other word.
    static func split(_ rest: [String]) throws -> (container: String?, command: [String], tty: Bool) {
        var container: String?
        var tty = false
        var i = 0
        while i < rest.count {
            let word = rest[i]
            if word == "--" { return (container, Array(rest[(i + 1)...]), tty) }
            if ["-t", "--tty", "-it", "-ti"].contains(word) {
                tty = true
                i += 1
            } else if word == "-i" || word == "--interactive" {
                i += 1
            } else if word == "-c" || word == "--container" {
                guard i + 1 < rest.count else { throw CLIError("\(word) needs a container name") }
                container = rest[i + 1]
                i += 2
            } else if word.hasPrefix("--container=") {
                container = String(word.dropFirst("--container=".count))
                i += 1
            } else {
                break
            }
        }
        return (container, Array(rest[i...]), tty)
    }
}
