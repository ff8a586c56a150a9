import Foundation
import TestSupport

/// What the Docker end-to-end tests need, checked first so that they fail (never skip)
/// with a message saying what to run when it is missing.
enum DockerRequirement {
    /// A Docker engine answering on /var/run/docker.sock, with the debian:bookworm-slim
    /// image the fixtures use.
    static func engine() async throws {
        let ping = try await Command.run("curl", ["-sf", "--unix-socket", "/var/run/docker.sock", "http://localhost/_ping"])
        guard ping.stdout == "OK" else {
            throw LocalServers.ServerError(
                description:
                    "no Docker engine answers on /var/run/docker.sock; run scripts/setup-machine (installs docker.io, starts dockerd, builds debian:bookworm-slim)"
            )
        }
        let image = try await Command.run("docker", ["image", "inspect", "debian:bookworm-slim"])
        guard image.status == 0 else {
            throw LocalServers.ServerError(description: "the debian:bookworm-slim image is missing; run scripts/setup-machine")
        }
    }
}
