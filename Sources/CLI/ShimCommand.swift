import ArgumentParser
import ShimCore

/// `fargate-local shim DIR` (internal): runs one process-runtime container, independent
/// of the controller, so it survives a controller crash.
struct ShimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shim", abstract: "Run one container for the process runtime (internal).", shouldDisplay: false)

    @Argument var directory: String
    @Option(name: .customLong("notify-fd"), help: "A pipe to the controller that started this shim.") var notifyFD: Int32?

    func run() async throws {
        let status = ContainerShim.run(directory: directory, notifyFD: notifyFD)
        if status != 0 { throw ExitCode(status) }
    }
}
