@testable import Controller
import CurlHTTP
import Foundation
import Testing

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
        #expect(fromContext.socketPath == "/home/me/.colima/default/docker.sock")
        #expect(fromContext.source == "docker context colima")
        #expect(try DockerEngine.fromEnvironment(["DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "desktop"]).socketPath == "/run/desktop.sock")
        #expect(try DockerEngine.fromEnvironment(["DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "default"]).socketPath == "/var/run/docker.sock")
        let fromHost = try DockerEngine.fromEnvironment(["DOCKER_CONFIG": dir, "DOCKER_HOST": "unix:///tmp/other.sock"])
        #expect(fromHost.socketPath == "/tmp/other.sock" && fromHost.source == "DOCKER_HOST")
        // No config at all (HOME without .docker): the default socket.
        #expect(try DockerEngine.fromEnvironment(["HOME": dir + "/nowhere"]).socketPath == "/var/run/docker.sock")
        // A config.json without currentContext: the default socket.
        let plain = try config(current: nil, contexts: [])
        defer { try? FileManager.default.removeItem(atPath: plain) }
        #expect(try DockerEngine.fromEnvironment(["DOCKER_CONFIG": plain]).socketPath == "/var/run/docker.sock")
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
        #expect(message(["DOCKER_CONFIG": dir]) == "docker context \"remote\" (tcp://10.0.0.5:2376) is not supported: fargate-local talks to the engine over a unix socket (unix:///var/run/docker.sock)")
        #expect(message(["DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "gone"]).hasPrefix("docker context \"gone\" (from DOCKER_CONTEXT) does not exist under \(dir)/contexts/meta"))
        #expect(message(["DOCKER_HOST": "tcp://127.0.0.1:2375"]).hasPrefix("DOCKER_HOST=tcp://127.0.0.1:2375 is not supported"))
    }

    @Test func anOldClientRefusalNamesTheVersionToSpeak() {
        func response(_ status: Int, _ message: String) -> HTTPResponse {
            HTTPResponse(status: status, headers: [:], body: Array("{\"message\":\"\(message)\"}".utf8))
        }
        #expect(DockerEngine.minimumVersion(inRefusal: response(400, "client version 1.41 is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version")) == "1.44")
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
