import ECSModel
import Foundation

/// Assembles a container's environment in ECS's precedence order (later wins):
/// Fargate's own variables, then `environment`, then RunTask's container overrides.
public struct ContainerEnvironment: Sendable {
    public var region: String
    /// Base URL of the controller's endpoints (metadata, credentials).
    public var endpointBaseURL: String
    /// Variables taken from the host in process mode (PATH, HOME).
    public var hostVariables: [(String, String)]
    /// Set for containers in their own network namespace (Docker): the endpoints are reached as
    /// on Fargate, at http://169.254.170.2, with credentials on a RELATIVE_URI whose path is the secret.
    public var linkLocalEndpoint = false

    public init(region: String, endpointBaseURL: String, hostVariables: [(String, String)]) {
        self.region = region
        self.endpointBaseURL = endpointBaseURL
        self.hostVariables = hostVariables
    }

    /// The variables Fargate injects into every container.
    public func fargateVariables(taskID: String, containerName: String) -> [(String, String)] {
        let containerID = "\(taskID)-\(containerName)"
        let endpointBaseURL = linkLocalEndpoint ? "http://169.254.170.2" : self.endpointBaseURL
        return [
            ("AWS_REGION", region),
            ("AWS_DEFAULT_REGION", region),
            ("AWS_EXECUTION_ENV", "AWS_ECS_FARGATE"),
            ("ECS_CONTAINER_METADATA_URI_V4", "\(endpointBaseURL)/v4/\(containerID)"),
            ("ECS_CONTAINER_METADATA_URI", "\(endpointBaseURL)/v3/\(containerID)"),
            ("ECS_AGENT_URI", "\(endpointBaseURL)/api/\(containerID)"),
        ]
    }

    /// The full environment of one container, without duplicate names. With a
    /// `credentialsToken`, the container credentials endpoint is advertised as SDKs expect.
    public func variables(
        for container: ContainerDefinition, taskID: String, override: ContainerOverride?, credentialsToken: String? = nil,
        files: [(String, String)] = [], secrets: [(String, String)] = []
    ) -> [(String, String)] {
        var ordered: [(String, String)] = []
        var index: [String: Int] = [:]
        func set(_ name: String, _ value: String) {
            if let i = index[name] {
                ordered[i].1 = value
            } else {
                index[name] = ordered.count
                ordered.append((name, value))
            }
        }
        for (k, v) in hostVariables { set(k, v) }
        for (k, v) in fargateVariables(taskID: taskID, containerName: container.name ?? "") { set(k, v) }
        if let credentialsToken {
            if linkLocalEndpoint {
                set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/\(taskID)-\(credentialsToken)")
            } else {
                set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "\(endpointBaseURL)/v2/credentials/\(taskID)")
                set("AWS_CONTAINER_AUTHORIZATION_TOKEN", credentialsToken)
            }
        }
        for (k, v) in files { set(k, v) }
        for pair in container.environment ?? [] {
            if let name = pair.name { set(name, pair.value ?? "") }
        }
        for (k, v) in secrets { set(k, v) }
        for pair in override?.environment ?? [] {
            if let name = pair.name { set(name, pair.value ?? "") }
        }
        return ordered
    }
}
