import ArgumentParser
import Controller
import Foundation

/// Options every command that touches the controller's state shares.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp("Where tasks, logs and volumes are kept (default: $FARGATE_LOCAL_HOME or ~/.fargate-local).", valueName: "DIR"))
    var stateDirectory: String?

    @Option(help: "AWS region the tasks see (default: $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1).")
    var region: String?

    @Option(help: "Cluster name used in ARNs.")
    var cluster: String = "default"

    @Option(
        name: .customLong("aws-endpoint"),
        help: ArgumentHelp(
            "Where secrets, environment files and task roles are fetched, e.g. a local moto (default: $FARGATE_LOCAL_AWS_ENDPOINT, else AWS).", valueName: "URL"
        ))
    var awsEndpoint: String?

    @Option(help: ArgumentHelp("Talk to a running controller's API instead of the state directory (default: $FARGATE_LOCAL_ENDPOINT).", valueName: "URL"))
    var endpoint: String?

    var resolvedAWSEndpoint: String? {
        awsEndpoint ?? ProcessInfo.processInfo.environment["FARGATE_LOCAL_AWS_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var resolvedStateDirectory: URL {
        Self.stateDirectory(option: stateDirectory, environment: ProcessInfo.processInfo.environment)
    }

    /// `--state-dir`, else `$FARGATE_LOCAL_HOME`, else `~/.fargate-local`.
    static func stateDirectory(option: String?, environment env: [String: String]) -> URL {
        if let dir = option ?? env["FARGATE_LOCAL_HOME"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true).standardizedFileURL
        }
        let home = env["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        return URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(".fargate-local", isDirectory: true)
    }

    var resolvedRegion: String {
        let env = ProcessInfo.processInfo.environment
        return region ?? env["AWS_REGION"] ?? env["AWS_DEFAULT_REGION"] ?? "us-east-1"
    }

    /// The controller over the state directory; `store`: that directory's state, if already open.
    func makeController(store: StateStore? = nil) throws -> TaskController {
        do {
            return try TaskController(
                configuration: ControllerConfiguration(
                    stateDirectory: resolvedStateDirectory, region: resolvedRegion, cluster: cluster, awsEndpoint: resolvedAWSEndpoint),
                store: store)
        } catch {
            throw CLIError("\(error)")
        }
    }
}

/// A failure the CLI reports on stderr before exiting with `exitCode`.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32
    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }
    var description: String { message }
}

extension AsyncParsableCommand {
    /// Runs `body`, printing a CLIError or controller error as `fargate-local: message` and exiting non-zero.
    func reportingErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let e as CLIError {
            Console.error("fargate-local: \(e.message)")
            throw ExitCode(e.exitCode)
        } catch let e as ControllerError {
            Console.error("fargate-local: \(e.message)")
            throw ExitCode(1)
        }
    }
}
