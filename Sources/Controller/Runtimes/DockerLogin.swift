import ECSModel
import Foundation

/// The registry credentials the docker CLI would pull an image with (what `docker login`
/// stored), for images whose container has no `repositoryCredentials`: from
/// `$DOCKER_CONFIG/config.json` (default `~/.docker`), the image registry's `credHelpers`
/// entry, else `credsStore`, else its `auths` entry, in that order, as the docker CLI reads
/// them. A helper is the `docker-credential-NAME` program on PATH, run as `get` with the
/// registry on its standard input.
enum DockerLogin {
    /// What was found for a registry: Docker's `X-Registry-Auth` (base64url JSON), or why
    /// there is none when the configuration named some (for the pull's error). Never holds a
    /// secret in `problem`.
    struct Lookup: Sendable, Equatable {
        var registryAuth: String?
        var problem: String?
    }

    /// The credentials for `image`'s registry; an empty lookup when the configuration has none.
    static func lookup(for image: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Lookup {
        let directory = DockerEngine.configDirectory(environment)
        guard let data = FileManager.default.contents(atPath: directory + "/config.json"),
            let config = try? JSONParser.parse(Array(data))
        else { return Lookup() }
        let registry = SecretResolver.registry(of: image)
        let host = hostname(registry)
        func entry(_ key: String) -> JSONValue? {
            guard case let .object(members)? = config[key] else { return nil }
            return members.first { hostname($0.key) == host }?.value
        }
        if let helper = entry("credHelpers")?.stringValue ?? config["credsStore"]?.stringValue, !helper.isEmpty {
            return fromHelper(helper, registry: registry, environment: environment)
        }
        guard let auth = entry("auths") else { return Lookup() }
        if let token = auth["identitytoken"]?.stringValue, !token.isEmpty {
            return Lookup(registryAuth: encode([("identitytoken", token), ("serveraddress", registry)]))
        }
        if let encoded = auth["auth"]?.stringValue, !encoded.isEmpty {
            guard let decoded = Data(base64Encoded: encoded).map({ String(decoding: $0, as: UTF8.self) }),
                let colon = decoded.firstIndex(of: ":")
            else {
                return Lookup(problem: "the \"auth\" of \(host) in \(directory)/config.json is not base64 of USER:PASSWORD")
            }
            return Lookup(
                registryAuth: encode([
                    ("username", String(decoded[..<colon])), ("password", String(decoded[decoded.index(after: colon)...])), ("serveraddress", registry),
                ]))
        }
        if let username = auth["username"]?.stringValue, let password = auth["password"]?.stringValue {
            return Lookup(registryAuth: encode([("username", username), ("password", password), ("serveraddress", registry)]))
        }
        return Lookup()
    }

    /// A registry as the docker CLI keys its configuration: without scheme or path.
    static func hostname(_ registry: String) -> String {
        var host = Substring(registry)
        for scheme in ["https://", "http://"] where host.hasPrefix(scheme) { host = host.dropFirst(scheme.count) }
        return String(host.split(separator: "/", maxSplits: 1).first ?? host)
    }

    /// Runs `docker-credential-HELPER get` for `registry` (at most 10 s) and reads its
    /// `{"Username", "Secret"}`; a Username of `<token>` makes Secret an identity token.
    static func fromHelper(_ helper: String, registry: String, environment: [String: String]) -> Lookup {
        let program = "docker-credential-" + helper
        guard
            let path = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").lazy
                .map({ "\($0)/\(program)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            return Lookup(problem: "the credential helper \(program) (from the docker CLI's config.json) is not on PATH")
        }
        let outcome = HostCommand.runBlocking(path, ["get"], input: registry + "\n", timeoutSeconds: 10)
        guard outcome.status == 0, let document = try? JSONParser.parse(outcome.output),
            let username = document["Username"]?.stringValue, let secret = document["Secret"]?.stringValue
        else {
            return Lookup(problem: "the credential helper \(program) gave no credentials for \(registry) (exit status \(outcome.status))")
        }
        if username == "<token>" {
            return Lookup(registryAuth: encode([("identitytoken", secret), ("serveraddress", registry)]))
        }
        return Lookup(registryAuth: encode([("username", username), ("password", secret), ("serveraddress", registry)]))
    }

    /// Docker's X-Registry-Auth: base64url of the JSON object.
    static func encode(_ members: [(String, String)]) -> String {
        let json = JSONValue.object(members.map { ($0.0, JSONValue.string($0.1)) }).serialized()
        return Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
