import CurlHTTP
import Foundation
import Testing

@testable import Controller

/// The engine is found as the docker CLI finds it: DOCKER_HOST, else the current context
/// (DOCKER_CONTEXT, or config.json's currentContext under DOCKER_CONFIG), else the default socket.
struct DockerEndpointTests {
    /// A docker config directory with `currentContext` (when given) and one context per
    /// (name, host), each in a directory of its own as the docker CLI lays them out.
    func config(current: String?, contexts: [(String, String)]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("docker-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/contexts/meta", withIntermediateDirectories: true)
        if let current { try #"{"auths": {}, "currentContext": "\#(current)"}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8) }
        for (i, (name, host)) in contexts.enumerated() {
            let meta = "\(dir)/contexts/meta/\(String(repeating: "ab", count: 31))\(i)\(i)"
            try FileManager.default.createDirectory(atPath: meta, withIntermediateDirectories: true)
            try #"{"Name":"\#(name)","Metadata":{},"Endpoints":{"docker":{"Host":"\#(host)","SkipTLSVerify":false}}}"#
                .write(toFile: meta + "/meta.json", atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test func dockerHostWinsThenTheContextThenTheDefaultSocket() throws {
        let dir = try config(current: "colima", contexts: [("desktop", "unix:///run/desktop.sock"), ("colima", "unix:///home/me/.colima/default/docker.sock")])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fromContext = try DockerEngine.fromEnvironment(["DOCKER_CONFIG": dir])
        #expect(fromContext.address == .unix(path: "/home/me/.colima/default/docker.sock"))
        #expect(fromContext.source == "docker context colima")
        #expect(try DockerEngine.fromEnvironment(["DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "desktop"]).address == .unix(path: "/run/desktop.sock"))
        #expect(try DockerEngine.fromEnvironment(["DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "default"]).address == .unix(path: "/var/run/docker.sock"))
        let fromHost = try DockerEngine.fromEnvironment(["DOCKER_CONFIG": dir, "DOCKER_HOST": "unix:///tmp/other.sock"])
        #expect(fromHost.address == .unix(path: "/tmp/other.sock") && fromHost.source == "DOCKER_HOST")
        // No config at all (HOME without .docker): the default socket.
        #expect(try DockerEngine.fromEnvironment(["HOME": dir + "/nowhere"]).address == .unix(path: "/var/run/docker.sock"))
        // A config.json without currentContext: the default socket.
        let plain = try config(current: nil, contexts: [])
        defer { try? FileManager.default.removeItem(atPath: plain) }
        #expect(try DockerEngine.fromEnvironment(["DOCKER_CONFIG": plain]).address == .unix(path: "/var/run/docker.sock"))
    }

    @Test func whatCannotBeUsedIsSaid() throws {
        let dir = try config(current: "remote", contexts: [("remote", "tcp://10.0.0.5:2376")])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func message(_ env: [String: String]) -> String {
            do {
                _ = try DockerEngine.fromEnvironment(env)
                return ""
            } catch {
                return error.message
            }
        }
        let supported =
            "fargate-local talks to an engine on this machine, over its unix socket (unix:///var/run/docker.sock) or a plain TCP port (tcp://127.0.0.1:2375)"
        #expect(
            message(["DOCKER_CONFIG": dir])
                == "docker context \"remote\" (tcp://10.0.0.5:2376) is on another machine: \(supported); a task's containers bind this machine's folders, join its cgroups and reach its task metadata endpoint"
        )
        #expect(
            message(["DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "gone"]).hasPrefix(
                "docker context \"gone\" (from DOCKER_CONTEXT) does not exist under \(dir)/contexts/meta"))
        #expect(message(["DOCKER_HOST": "ssh://me@build-box"]) == "DOCKER_HOST=ssh://me@build-box is not supported: \(supported)")
        #expect(
            message(["DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1"])
                == "DOCKER_HOST=tcp://127.0.0.1:2376 with TLS (DOCKER_TLS_VERIFY) is not supported: \(supported)")
        #expect(
            message(["DOCKER_HOST": "tcp://127.0.0.1:notaport"])
                == "DOCKER_HOST=tcp://127.0.0.1:notaport: \"tcp://127.0.0.1:notaport\" is not an address (tcp://HOST:PORT)")
        // A context with TLS material is refused as TLS.
        let secured = try config(current: "secured", contexts: [("secured", "tcp://localhost:2376")])
        defer { try? FileManager.default.removeItem(atPath: secured) }
        let entry = try #require(try FileManager.default.contentsOfDirectory(atPath: secured + "/contexts/meta").first)
        try FileManager.default.createDirectory(atPath: "\(secured)/contexts/tls/\(entry)/docker", withIntermediateDirectories: true)
        #expect(
            message(["DOCKER_CONFIG": secured]).hasPrefix(
                "docker context \"secured\" (tcp://localhost:2376) with TLS (the context's TLS certificates) is not supported"))
    }

    /// A plain TCP port on this machine is an engine address too (port 2375 by default).
    @Test func aLocalTCPEngineIsSpokenTo() throws {
        #expect(try DockerEngine.fromEnvironment(["DOCKER_HOST": "tcp://127.0.0.1:2375"]).address == .tcp(host: "127.0.0.1", port: 2375))
        #expect(try DockerEngine.fromEnvironment(["DOCKER_HOST": "tcp://localhost"]).address == .tcp(host: "localhost", port: 2375))
        #expect(try DockerEngine.fromEnvironment(["DOCKER_HOST": "tcp://[::1]:12375/"]).address == .tcp(host: "::1", port: 12375))
        #expect(EngineAddress.tcp(host: "::1", port: 12375).description == "tcp://[::1]:12375")
        let dir = try config(current: "local-tcp", contexts: [("local-tcp", "tcp://127.0.0.1:23750")])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try DockerEngine.fromEnvironment(["DOCKER_CONFIG": dir])
        #expect(engine.address == .tcp(host: "127.0.0.1", port: 23750) && engine.source == "docker context local-tcp")
    }

    @Test func anOldClientRefusalNamesTheVersionToSpeak() {
        func response(_ status: Int, _ message: String) -> HTTPResponse {
            HTTPResponse(status: status, headers: [:], body: Array("{\"message\":\"\(message)\"}".utf8))
        }
        #expect(
            DockerEngine.minimumVersion(
                inRefusal: response(400, "client version 1.41 is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version")
            ) == "1.44")
        #expect(DockerEngine.minimumVersion(inRefusal: response(400, "No such image: x")) == nil)
        #expect(DockerEngine.minimumVersion(inRefusal: response(404, "client version 1.41 is too old. Minimum supported API version is 1.44")) == nil)
        #expect(DockerEngine.compare("1.44", "1.41") == 1 && DockerEngine.compare("1.9", "1.41") == -1 && DockerEngine.compare("1.41", "1.41") == 0)
        let engine = DockerEngine(socketPath: "/nowhere")
        #expect(engine.apiVersion == "v1.41" && !engine.setsMACOnEndpoint)
        let copy = engine
        engine.version.set("1.44")
        #expect(copy.apiVersion == "v1.44" && copy.setsMACOnEndpoint)
    }
}
