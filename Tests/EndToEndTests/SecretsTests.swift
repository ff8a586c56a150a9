import ECSModel
import Foundation
import TestSupport
import Testing

/// `secrets` and `environmentFiles` resolved from a real moto (SSM, Secrets Manager, S3),
/// in both runtimes; values reach the container and never the logs, describe output,
/// reports or state.
@Suite(.serialized)
struct SecretsTests {
    static let ssmValue = "ssm-value-\(UUID().uuidString.prefix(8))"
    static let smPassword = "sm-password-\(UUID().uuidString.prefix(8))"

    static func sha256(_ s: String) async throws -> String {
        let r = try await Command.run("/bin/sh", ["-c", "printf %s \"$0\" | sha256sum | cut -d' ' -f1", s])
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Seeds moto and returns the Secrets Manager secret's ARN.
    static func seed(_ endpoint: String) async throws -> String {
        let code = """
            import boto3, sys
            kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
            boto3.client("ssm", **kw).put_parameter(Name="/app/db-password", Value=sys.argv[2], Type="SecureString")
            arn = boto3.client("secretsmanager", **kw).create_secret(Name="app/creds", SecretString='{"username": "svc", "password": "%s"}' % sys.argv[3])["ARN"]
            s3 = boto3.client("s3", **kw)
            s3.create_bucket(Bucket="cfg")
            s3.put_object(Bucket="cfg", Key="app.env", Body=b"# settings\\nFROM_FILE=yes\\n\\nSHARED=from-file\\n")
            print(arn)
            """
        let r = try await Command.run("python3", ["-c", code, endpoint, ssmValue, smPassword])
        guard r.status == 0 else { throw LocalServers.ServerError(description: "seeding moto failed: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func definition(image: String, secretARN: String, missing: Bool = false) -> String {
        let ssm = missing ? "/app/not-there" : "arn:aws:ssm:us-east-1:123456789012:parameter/app/db-password"
        return """
            {"family": "secrets", "executionRoleArn": "arn:aws:iam::000000000000:role/ecsTaskExecutionRole", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "\(image)",
               "command": ["sh", "-c", "echo FROM_FILE=$FROM_FILE SHARED=$SHARED; printf %s \\"$DB_PASSWORD\\" | sha256sum; printf %s \\"$API_PASSWORD\\" | sha256sum"],
               "environment": [{"name": "SHARED", "value": "from-environment"}],
               "environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::cfg/app.env"}],
               "secrets": [{"name": "DB_PASSWORD", "valueFrom": "\(ssm)"},
                           {"name": "API_PASSWORD", "valueFrom": "\(secretARN):password::"}]}]}
            """
    }

    func check(runtime: String, image: String) async throws {
        try await LocalServers.withMoto { endpoint in
            let arn = try await Self.seed(endpoint)
            let cli = CLIHarness()
            defer { cli.cleanup() }
            try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
            let file = cli.stateDirectory.appendingPathComponent("secrets.json").path
            try Data(Self.definition(image: image, secretARN: arn).utf8).write(to: URL(fileURLWithPath: file))
            let report = cli.stateDirectory.appendingPathComponent("report.json").path
            let r = try await cli.run(["run", "--wait", "--runtime", runtime, "--aws-endpoint", endpoint, file, "--report", report])
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.contains("app | FROM_FILE=yes SHARED=from-environment"))
            #expect(r.stdout.contains(try await Self.sha256(Self.ssmValue)))
            #expect(r.stdout.contains(try await Self.sha256(Self.smPassword)))
            // Never the values themselves: not in output, logs, describe, the report or the state database.
            let describe = try await cli.run(
                ["describe"] + [
                    String(
                        (try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: report)))))["taskArn"]?.stringValue?.split(separator: "/").last
                            ?? "")
                ])
            let everything = try await Command.run(
                "/bin/sh", ["-c", "cat -v \"$0\"/state.sqlite* \"$0\"/logs/*/* \"$1\" 2>/dev/null", cli.stateDirectory.path, report])
            for haystack in [r.stdout, r.stderr, describe.stdout, everything.stdout] {
                #expect(!haystack.contains(Self.ssmValue) && !haystack.contains(Self.smPassword))
            }

            try Data(Self.definition(image: image, secretARN: arn, missing: true).utf8).write(to: URL(fileURLWithPath: file))
            let failed = try await cli.run(["run", "--wait", "--runtime", runtime, "--aws-endpoint", endpoint, file])
            #expect(failed.status == 125)
            #expect(
                failed.stderr.contains(
                    "ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret DB_PASSWORD from /app/not-there"),
                "\(failed.stderr)")
        }
    }

    @Test func processRuntime() async throws {
        try await check(runtime: "process", image: "x")
    }

    @Test func dockerRuntime() async throws {
        try await DockerRequirement.engine()
        try await check(runtime: "docker", image: "debian:bookworm-slim")
    }

    /// `repositoryCredentials`: the Secrets Manager secret (from moto) reaches the registry
    /// as the engine's Basic credentials when a missing image is pulled; a secret that is not
    /// there stops the task before any pull, naming it. The password never shows.
    @Test func dockerPullsWithRepositoryCredentials() async throws {
        try await DockerRuntimeTests().requireDocker()
        let password = "registry-\(UUID().uuidString.prefix(8))"
        try await LocalServers.withMoto { endpoint in
            let seeded = try await Command.run(
                "python3",
                [
                    "-c",
                    """
                    import boto3, sys
                    kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
                    print(boto3.client("secretsmanager", **kw).create_secret(Name="registry/creds", SecretString='{"username": "alice", "password": "%s"}' % sys.argv[2])["ARN"])
                    """, endpoint, password,
                ])
            let arn = seeded.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(seeded.status == 0 && arn.hasPrefix("arn:aws:secretsmanager:"), "\(seeded.stderr)")
            let cli = CLIHarness()
            defer { cli.cleanup() }
            try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
            let seen = cli.stateDirectory.appendingPathComponent("registry.log").path
            let port = LocalServers.freePort()
            let registry = CLIHarness.repository.appendingPathComponent("Tests/Fixtures/docker/fake_registry.py").path
            try await LocalServers.withServer("/usr/bin/python3", [registry, String(port), seen], port: port) {
                let file = cli.stateDirectory.appendingPathComponent("private.json").path
                func write(_ credentials: String) throws {
                    try Data(
                        """
                        {"family": "private-image", "executionRoleArn": "arn:aws:iam::000000000000:role/ecsTaskExecutionRole", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                         "containerDefinitions": [{"name": "app", "image": "127.0.0.1:\(port)/private/app:v1",
                           "repositoryCredentials": {"credentialsParameter": "\(credentials)"}}]}
                        """.utf8
                    ).write(to: URL(fileURLWithPath: file))
                }
                try write(arn)
                let r = try await cli.run(["run", "--wait", "--runtime", "docker", "--aws-endpoint", endpoint, file])
                #expect(r.status == 125, "\(r.stdout)\n\(r.stderr)")
                #expect(r.stderr.contains("CannotPullContainerError") && r.stderr.contains("manifest unknown"), "\(r.stderr)")
                let basic = "Basic " + Data("alice:\(password)".utf8).base64EncodedString()
                let requests = (try? String(contentsOfFile: seen, encoding: .utf8)) ?? ""
                #expect(requests.contains("/v2/private/app/manifests/v1 \(basic)"), "the registry saw: \(requests)")
                let state = try await Command.run("/bin/sh", ["-c", "cat -v \"$0\"/state.sqlite* \"$0\"/logs/*/* 2>/dev/null", cli.stateDirectory.path])
                for haystack in [r.stdout, r.stderr, state.stdout] { #expect(!haystack.contains(password)) }

                try write(arn.replacingOccurrences(of: "registry/creds", with: "registry/gone"))
                let missing = try await cli.run(["run", "--wait", "--runtime", "docker", "--aws-endpoint", endpoint, file])
                #expect(missing.status == 125)
                #expect(
                    missing.stderr.contains(
                        "ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve repositoryCredentials from"),
                    "\(missing.stderr)")
            }
        }
    }

    /// The acceptance check of the API issue: an SDK call inside a task (`aws sts get-caller-identity`
    /// against moto) runs as the task role, assumed through STS at --aws-endpoint, and fails with a wrong token.
    @Test func sdkInsideATaskRunsAsItsTaskRole() async throws {
        try await LocalServers.withMoto { endpoint in
            let cli = CLIHarness()
            defer { cli.cleanup() }
            try FileManager.default.createDirectory(at: cli.stateDirectory, withIntermediateDirectories: true)
            let file = cli.stateDirectory.appendingPathComponent("sts.json").path
            let definition = """
                {"family": "sts", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "taskRoleArn": "arn:aws:iam::123456789012:role/app-role",
                 "containerDefinitions": [{"name": "c", "image": "x", "command": ["sh", "-c",
                   "export AWS_ENDPOINT_URL=\(endpoint); aws sts get-caller-identity --query Arn --output text; AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong aws sts get-caller-identity >/dev/null 2>&1 || echo without-token-refused"]}]}
                """
            try Data(definition.utf8).write(to: URL(fileURLWithPath: file))
            let r = try await cli.run(["run", "--wait", "-q", "--runtime", "process", "--aws-endpoint", endpoint, file])
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.contains("c | arn:aws:sts::123456789012:assumed-role/app-role/fargate-local-"), "\(r.stdout)")
            #expect(r.stdout.contains("c | without-token-refused"))
        }
    }
}
