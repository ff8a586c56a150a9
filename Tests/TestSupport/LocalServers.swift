import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Real local AWS stand-ins for tests, each alive only inside the closure that uses it:
/// moto (S3, DynamoDB, SES; checks no signatures) and rclone's S3 server (verifies SigV4).
/// A missing server is a test failure, never a skip.
public enum LocalServers {
    /// A TCP port that was free a moment ago on 127.0.0.1.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    public struct ServerError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Finds `name` on PATH (tests fail, not skip, when it is missing).
    public static func executable(_ name: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if access(p, X_OK) == 0 { return p }
        }
        throw ServerError(description: "\(name) is not installed (run scripts/setup-machine); this test needs the real \(name)")
    }

    /// Waits until something accepts connections on the port.
    static func waitForPort(_ port: Int, host: String = "127.0.0.1", seconds: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr(host)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if rc == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerError(description: "nothing answered on 127.0.0.1:\(port) within \(seconds) s")
    }

    /// Runs `body` with a fresh moto server's endpoint URL; the server is stopped afterwards.
    /// `host` is where moto listens: 127.0.0.1, or the Docker bridge's gateway so containers reach it.
    public static func withMoto<T: Sendable>(host: String = "127.0.0.1", _ body: (String) async throws -> T) async throws -> T {
        let moto = try executable("moto_server")
        let port = freePort()
        return try await withServer(moto, ["-H", host, "-p", String(port)], port: port, host: host) {
            try await body("http://\(host):\(port)")
        }
    }

    /// The Docker bridge network's gateway address (how containers reach the host).
    public static func dockerGateway() async throws -> String {
        let r = try await Command.run("docker", ["network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{.Subnet}}{{end}}"])
        let fields = r.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        if let gateway = fields.first(where: { !$0.contains("/") }) { return gateway }
        // Docker 20.10's default bridge names only its subnet; the gateway is its first address.
        if let subnet = fields.first(where: { $0.contains("/") }) {
            var octets = subnet.split(separator: "/")[0].split(separator: ".").compactMap { Int($0) }
            if octets.count == 4 {
                octets[3] += 1
                return octets.map(String.init).joined(separator: ".")
            }
        }
        throw ServerError(description: "cannot find the Docker bridge gateway: \(r.stdout) \(r.stderr)")
    }

    /// Runs `body` with an rclone S3 server over `root` that verifies SigV4 for KEY/SECRET.
    public static func withStrictS3<T: Sendable>(root: String, accessKey: String, secret: String, _ body: (String) async throws -> T) async throws -> T {
        let rclone = try executable("rclone")
        let port = freePort()
        return try await withServer(rclone, ["serve", "s3", root, "--auth-key", "\(accessKey),\(secret)", "--addr", "127.0.0.1:\(port)"], port: port) {
            try await body("http://127.0.0.1:\(port)")
        }
    }

    /// Runs `body` while the fault-injecting proxy (Tests/Fixtures/zip/fault_proxy.py) forwards to `upstream`.
    public static func withFaultProxy<T: Sendable>(upstream: String, rules: String, log: String, _ body: (String) async throws -> T) async throws -> T {
        let python = try executable("python3")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/zip/fault_proxy.py").path
        let port = freePort()
        return try await withServer(python, [script, String(port), upstream, rules], port: port, errorLog: log) {
            try await body("http://127.0.0.1:\(port)")
        }
    }

    /// Runs `exe` in its own process group while `body` runs, then kills the group.
    public static func withServer<T: Sendable>(
        _ exe: String, _ args: [String], port: Int, host: String = "127.0.0.1", errorLog: String? = nil, _ body: () async throws -> T
    ) async throws -> T {
        if let errorLog {
            let wrapped = ["-c", "exec \"$0\" \"$@\" 2>>\"\(errorLog)\"", exe] + args
            return try await withServer("/bin/sh", wrapped, port: port, host: host, body)
        }
        var options = PlatformOptions()
        options.processGroupID = 0
        let config = Configuration(executable: .path(FilePath(exe)), arguments: Arguments(args), platformOptions: options)
        let result = try await Subprocess.run(config, input: .none, output: .discarded, error: .discarded) { execution -> Result<T, any Error> in
            let outcome: Result<T, any Error>
            do {
                try await waitForPort(port, host: host)
                outcome = .success(try await body())
            } catch {
                outcome = .failure(error)
            }
            try? execution.send(signal: .kill, toProcessGroup: true)
            return outcome
        }
        return try result.closureResult.get()
    }
}
