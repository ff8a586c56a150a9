import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs a command to completion and captures its output (drained concurrently).
public enum Command {
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        workingDirectory: String? = nil
    ) async throws -> Output {
        var env: [Environment.Key: String?] = [:]
        for (k, v) in environment { env[Environment.Key(stringLiteral: k)] = v }
        let exe: Executable = executable.contains("/") ? .path(FilePath(executable)) : .name(executable)
        let result = try await Subprocess.run(
            exe, arguments: Arguments(arguments), environment: .inherit.updating(env),
            workingDirectory: workingDirectory.map { FilePath($0) },
            output: .string(limit: 64 << 20), error: .string(limit: 16 << 20))
        let status: Int32
        switch result.terminationStatus {
        case let .exited(c): status = c
        case let .signaled(s): status = 128 + s
        }
        return Output(status: status, stdout: result.standardOutput, stderr: result.standardError)
    }

    /// Runs a Python snippet (boto3 is the client the tests use for fixtures).
    public static func python(_ code: String, environment: [String: String] = [:]) async throws -> Output {
        try await run("python3", ["-c", code], environment: environment)
    }
}
