import ArgumentParser
import Controller
import CurlHTTP
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The `fargate-local` command and its subcommands.
public struct FargateLocalCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fargate-local",
        abstract: "Run Amazon ECS/Fargate task definitions locally, the way Fargate runs them.",
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, RunCommand.self, RegisterCommand.self, TaskDefinitionsCommand.self,
            PsCommand.self, DescribeCommand.self, LogsCommand.self, ExecCommand.self, StopCommand.self, WaitCommand.self, EventsCommand.self, ServeCommand.self,
            SuperviseCommand.self, ShimCommand.self,
        ])

    public init() {}
}

extension FargateLocalCommand {
    /// Parses the process's arguments and runs the chosen subcommand, exiting with its status.
    public static func runFromCommandLine() async -> Never {
        LatencyTrace.mark("main: started")
        if CommandLine.arguments.dropFirst().first == "serve" { HTTPClient.preloadInBackground() }
        // `run` is latency-bound (the controller-overhead targets): its state database opens
        // while the command line is parsed, and the parsed command is handed what was opened.
        let prefetch = StatePrefetch.begin(arguments: CommandLine.arguments, environment: ProcessInfo.processInfo.environment)
        do {
            var command = try parseAsRoot()
            LatencyTrace.mark("main: arguments parsed")
            if let run = command as? RunCommand {
                try await run.run(prefetched: prefetch)
            } else if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exitNow(0)
        } catch let exit as ExitCode {
            // A command's own exit status: nothing to print, so ArgumentParser's message
            // machinery (~0.4 ms of reflection, cold) is not needed.
            LatencyTrace.mark("main: exiting")
            exitNow(exit.rawValue)
        } catch {
            LatencyTrace.mark("main: exiting")
            let code = exitCode(for: error).rawValue
            let message = fullMessage(for: error)
            if !message.isEmpty {
                if code == 0 { print(message) } else { Console.error(message) }
            }
            exitNow(code)
        }
    }

    // libcurl (~30 shared libraries, ~5 ms of CPU to load) is loaded on first use: only
    // AWS calls need it (secrets, environment files, AssumeRole); the Docker engine is
    // spoken to over its socket directly. `serve` loads it in the background at start, when
    // the time is free.

    /// Ends the process without running atexit handlers and C++ destructors, which cost
    /// ~1.5 ms at the end of every command: everything this CLI writes is already flushed or
    /// committed (SQLite commits are durable in the WAL; stdio is flushed here).
    private static func exitNow(_ code: Int32) -> Never {
        fflush(nil)
        _exit(code)
    }
}
