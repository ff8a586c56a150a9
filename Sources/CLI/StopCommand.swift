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
    @Flag(
        name: .customLong("spot-interruption"),
        help:
            "Stop as Fargate Spot reclaims a task: stopCode TerminationNotice, then SpotInterruption once STOPPED, stoppedReason \"Your Spot Task was interrupted.\" (SIGTERM, then SIGKILL after each container's stopTimeout, at most 120 s: Spot's two-minute warning)."
    )
    var spotInterruption = false

    /// The stoppedReason Fargate gives a task it reclaims from Spot capacity.
    static let spotInterruptionReason = "Your Spot Task was interrupted."

    func run() async throws {
        try await reportingErrors {
            if let time, !(0...3600).contains(time) { throw CLIError("--time must be between 0 and 3600 seconds") }
            if spotInterruption && reason != "Task stopped by user" {
                throw CLIError("--spot-interruption gives Fargate's own stoppedReason (\"\(Self.spotInterruptionReason)\"); it cannot be used with --reason")
            }
            if spotInterruption && global.endpointClient != nil {
                throw CLIError(
                    "--spot-interruption cannot be used with --endpoint: ECS's API has no way to ask for it (AWS reclaims Spot capacity itself); run it without --endpoint, on the controller's --state-dir"
                )
            }
            if let client = global.endpointClient {
                if time != nil {
                    throw CLIError("--time cannot be used with --endpoint: ECS's StopTask has no such parameter; the containers' stopTimeout applies")
                }
                var arns: [String] = []
                for ref in tasks {
                    let arn = try await client.resolve(ref)
                    _ = try await client.ecs("StopTask", .object([("task", .string(arn)), ("reason", .string(String(reason.prefix(255))))]))
                    arns.append(arn)
                    Console.out(String(arn.split(separator: "/").last ?? ""))
                }
                if wait {
                    for arn in arns { _ = try await TaskWaiting.untilStopped(arn, through: client) }
                }
                return
            }
            let controller = try global.makeController()
            var stopping: [String] = []
            var orphans: [(TaskRecord, StopRequest)] = []
            for ref in tasks {
                let record = try await controller.store.resolveTask(ref)
                guard record.task.lastStatus != .stopped else {
                    Console.error("fargate-local: task \(record.id) is already STOPPED")
                    continue
                }
                let text = spotInterruption ? Self.spotInterruptionReason : String(reason.prefix(255))
                let (seconds, code) = (time, spotInterruption ? StopCode.terminationNotice : nil)
                if spotInterruption, record.task.capacityProviderName != "FARGATE_SPOT" {
                    Console.error("fargate-local: note: task \(record.id) was not placed on FARGATE_SPOT; on ECS only FARGATE_SPOT tasks are interrupted")
                }
                let request = StopRequest(reason: text, timeoutSeconds: seconds, code: code ?? .userInitiated)
                let updated = try await controller.store.requestStop(record.id, request)
                switch await SupervisorContact.announceStop(updated, request) {
                case .told:
                    break
                case let .unreachable(why):
                    throw CLIError("task \(record.id) is supervised by a fargate-local process whose API does not answer (\(why)); it was not stopped")
                case .gone:
                    guard let latest = try await controller.store.task(id: record.id), latest.task.lastStatus != .stopped else {
                        Console.error("fargate-local: task \(record.id) is already STOPPED")
                        continue
                    }
                    // Its supervisor is gone (killed, or the machine rebooted): this process
                    // takes the task over, as serve would, and stops it.
                    orphans.append((latest, request))
                    continue
                }
                stopping.append(record.id)
                Console.out(record.id)
            }
            if !orphans.isEmpty {
                // Those another process took over first (a serve starting) are stopped there.
                for (id, request) in try await stopTakingOver(orphans, controller: controller) {
                    guard let latest = try await controller.store.task(id: id) else { continue }
                    if case .told = await SupervisorContact.announceStop(latest, request) { stopping.append(id) }
                    Console.out(id)
                }
            }
            guard wait else { return }
            for id in stopping { _ = try await TaskWaiting.untilStopped(id, in: controller.store) }
        }
    }

    /// Stops tasks whose supervising process is gone: their containers are re-adopted here
    /// (`TaskHost.adoptOrMarkLost`, as `serve` takes such tasks over), stopped as asked, and
    /// supervised until STOPPED; this process then ends, so it waits whether or not `--wait`
    /// was given. A task none of whose containers can be found again is recorded STOPPED as
    /// lost.
    /// Returns the tasks another process took over first, with their requests.
    private func stopTakingOver(_ orphans: [(TaskRecord, StopRequest)], controller: TaskController) async throws -> [(String, StopRequest)] {
        Console.surviveClosedOutput()
        var takenElsewhere: [(String, StopRequest)] = []
        var hosts: [String: TaskHost] = [:]
        var adopted: [(TaskHost, String)] = []
        for (record, request) in orphans {
            let name = record.runtimeName ?? record.options.runtime
            let host: TaskHost
            if let existing = hosts[name] {
                host = existing
            } else {
                let runtime = try TaskController.runtime(
                    named: name, keepContainers: record.options.keepContainers ?? false,
                    shim: SupervisorLauncher.executablePath(), stateDirectory: global.resolvedStateDirectory)
                host = TaskHost(controller: controller, runtime: runtime, servesAPI: false)
                hosts[name] = host
            }
            switch try await host.adoptOrMarkLost(record) {
            case .adopted:
                Console.error("fargate-local: task \(record.id) had no running supervisor; stopping it from here")
                _ = await host.applyStop(record.id, reason: request.reason, code: request.code, timeout: request.timeoutSeconds)
                adopted.append((host, record.id))
            case .lost:
                Console.error("fargate-local: task \(record.id) had no running supervisor and its containers are gone; recorded as STOPPED")
            case .takenElsewhere:
                takenElsewhere.append((record.id, request))
                continue
            }
            Console.out(record.id)
        }
        for (host, id) in adopted { _ = await host.wait(id) }
        return takenElsewhere
    }
}
