import ArgumentParser
import Controller
import ECSModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `fargate-local stop TASK…`: StopTask — SIGTERM, then SIGKILL after each container's stopTimeout.
struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop running tasks.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Task ids, unambiguous id prefixes or ARNs.") var tasks: [String]
    @Option(help: "The stoppedReason to record (at most 255 characters).") var reason: String = "Task stopped by user"
    @Flag(help: "Wait until the tasks are STOPPED.") var wait = false
    @Option(help: ArgumentHelp("Seconds to wait before SIGKILL, instead of each container's stopTimeout (like docker stop -t).", valueName: "SECONDS"))
    var time: Int?

    func run() async throws {
        try await reportingErrors {
            if let time, !(0...3600).contains(time) { throw CLIError("--time must be between 0 and 3600 seconds") }
            if let client = global.endpointClient {
                if time != nil { throw CLIError("--time cannot be used with --endpoint: ECS's StopTask has no such parameter; the containers' stopTimeout applies") }
                var arns: [String] = []
                for ref in tasks {
                    let arn = try await client.resolve(ref)
                    _ = try await client.ecs("StopTask", .object([("task", .string(arn)), ("reason", .string(String(reason.prefix(255))))]))
                    arns.append(arn)
                    Console.out(String(arn.split(separator: "/").last ?? ""))
                }
                while wait, try await client.tasks(arns).contains(where: { $0.lastStatus != .stopped }) {
                    try await Task.sleep(for: .milliseconds(200))
                }
                return
            }
            let controller = try global.makeController()
            var stopping: [String] = []
            for ref in tasks {
                let record = try await controller.store.resolveTask(ref)
                guard record.task.lastStatus != .stopped else {
                    Console.error("fargate-local: task \(record.id) is already STOPPED")
                    continue
                }
                let text = String(reason.prefix(255))
                let seconds = time
                let updated = try await controller.store.update(record.id) {
                    $0.requestedStopReason = text
                    $0.requestedStopTimeout = seconds
                }
                guard let pid = updated.supervisorPID, kill(pid, 0) == 0 else {
                    throw CLIError("task \(record.id) has no running supervisor (it was started by a process that is gone); its state cannot be changed from here")
                }
                kill(pid, SIGTERM)
                stopping.append(record.id)
                Console.out(record.id)
            }
            guard wait else { return }
            for id in stopping {
                while let r = try await controller.store.task(id: id), r.task.lastStatus != .stopped {
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
    }
}
