import ArgumentParser
import Controller
import Foundation

/// `fargate-local supervise TASK_ID` (internal): supervises a created task in the
/// background for `run` without `--wait`.
struct SuperviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise", abstract: "Supervise a created task (used by `run` without --wait).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions

    @Argument var taskID: String

    func run() async throws {
        Console.surviveClosedOutput()
        try await reportingErrors {
            let controller = try global.makeController()
            guard var record = try await controller.store.task(id: taskID) else {
                throw CLIError("task \(taskID) not found")
            }
            guard record.task.lastStatus == .provisioning else {
                throw CLIError("task \(taskID) is already \(record.task.lastStatus.rawValue)")
            }
            // Caught before this process is named the task's supervisor: a stop asked for from
            // then on waits for the supervisor instead of ending this process.
            let signals = StopSignalRouter()
            let pid = getpid()
            record = try await controller.store.update(taskID) { $0.setSupervisor(pid) }
            let runtime = try TaskController.runtime(
                named: record.options.runtime, keepContainers: record.options.keepContainers ?? false, shim: SupervisorLauncher.executablePath(),
                stateDirectory: global.resolvedStateDirectory)
            let api = try await InProcessAPI.start(controller: controller, runtime: runtime, imageMap: record.options.imageMap, region: global.resolvedRegion)
            defer { Task { await api.stop() } }
            let final = try await Supervision.run(record: record, controller: controller, runtime: runtime, console: nil, signals: signals, takingOver: true)
            Console.error("task \(final.id) stopped: \(final.task.stoppedReason ?? "")")
        }
    }
}
