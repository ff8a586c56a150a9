import CArchive
import ECSModel
import Foundation
import Subprocess
import TestSupport

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A zip export request against a real moto: objects seeded with boto3, the built
/// `zip-task` binary run with the task's environment contract, results read back.
struct ZipScenario {
    let endpoint: String
    let directory: URL
    let requestID: String
    var bucket = "zip-src"
    let table = "zip-requests"
    var sources: [String: [UInt8]] = [:]

    static var zipTaskBinary: String {
        URL(fileURLWithPath: CLIHarness.binary).deletingLastPathComponent().appendingPathComponent("zip-task").path
    }
    static let fixtureScript = CLIHarness.repository.appendingPathComponent("scripts/local_aws.py").path

    init(endpoint: String, requestID: String = "req-\(UUID().uuidString.prefix(8).lowercased())") throws {
        self.endpoint = endpoint
        self.requestID = requestID
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("zip-e2e-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("work"), withIntermediateDirectories: true)
    }

    var workDirectory: String { directory.appendingPathComponent("work").path }

    func cleanup() { try? FileManager.default.removeItem(at: directory) }

    /// Random bytes (incompressible) or log-like text (compressible).
    static func content(random: Bool, size: Int) -> [UInt8] {
        if random {
            var g = SystemRandomNumberGenerator()
            return (0..<size).map { _ in UInt8.random(in: 0...255, using: &g) }
        }
        var out: [UInt8] = []
        var i = 0
        while out.count < size {
            out.append(contentsOf: Array("2026-11-27T03:00:\(i % 60)Z INFO request id=\(i) path=/api/items/\(i % 97) status=200 ms=\(i % 13)\n".utf8))
            i += 1
        }
        return Array(out.prefix(size))
    }

    /// Uploads `objects`, writes the request item listing `files` (defaults to the objects' keys).
    mutating func seed(objects: [(String, [UInt8])], files: [String]? = nil, email: String = "user@example.com", item: Bool = true) async throws {
        var specObjects: [[String: String]] = []
        for (i, (key, data)) in objects.enumerated() {
            let path = directory.appendingPathComponent("src-\(i)").path
            try Data(data).write(to: URL(fileURLWithPath: path))
            specObjects.append(["key": key, "file": path])
            sources[key] = data
        }
        var spec: [String: Any] = ["endpoint": endpoint, "bucket": bucket, "table": table, "objects": specObjects]
        if item {
            spec["item"] = ["requestId": requestID, "email": email, "files": files ?? objects.map(\.0)]
        }
        let r = try await Command.run(
            "python3", [Self.fixtureScript, "seed", String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)])
        guard r.status == 0 else { throw LocalServers.ServerError(description: "seeding moto failed: \(r.stderr)") }
    }

    /// The task's environment, as the launcher would set it.
    func environment(endpoint: String? = nil, extra: [String: String] = [:]) -> [String: String] {
        var env = [
            "REQUEST_ID": requestID, "SOURCE_BUCKET": bucket, "WORK_DIR": workDirectory,
            "AWS_ENDPOINT_URL": endpoint ?? self.endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
        ]
        for (k, v) in extra { env[k] = v }
        return env
    }

    func runZipTask(endpoint: String? = nil, extra: [String: String] = [:]) async throws -> Command.Output {
        try await Command.run(Self.zipTaskBinary, [], environment: environment(endpoint: endpoint, extra: extra))
    }

    /// The request item, the destination bucket's keys, open multipart uploads and mail sent.
    func inspect() async throws -> JSONValue {
        let spec: [String: Any] = ["endpoint": endpoint, "bucket": bucket, "table": table, "request_id": requestID]
        let r = try await Command.run(
            "python3", [Self.fixtureScript, "inspect", String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)])
        guard r.status == 0 else { throw LocalServers.ServerError(description: "inspecting moto failed: \(r.stderr)") }
        return try JSONParser.parse(r.stdout)
    }

    /// Downloads `url` with plain curl and returns every entry of the zip (name → bytes), read by libarchive.
    func download(_ url: String) async throws -> (zip: [UInt8], entries: [(String, [UInt8])]) {
        let path = directory.appendingPathComponent("download.zip").path
        let r = try await Command.run("curl", ["-sf", "-o", path, url])
        guard r.status == 0 else { throw LocalServers.ServerError(description: "curl could not download the presigned URL (exit \(r.status))") }
        let zip = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        return (zip, try Self.entries(of: zip))
    }

    static func entries(of zip: [UInt8]) throws -> [(String, [UInt8])] {
        guard let reader = archive_read_new() else { return [] }
        defer { archive_read_free(reader) }
        archive_read_support_format_zip(reader)
        guard zip.withUnsafeBytes({ archive_read_open_memory(reader, $0.baseAddress, $0.count) }) == ARCHIVE_OK else {
            throw LocalServers.ServerError(description: "libarchive cannot open the zip")
        }
        var out: [(String, [UInt8])] = []
        var entry: OpaquePointer?
        while archive_read_next_header(reader, &entry) == ARCHIVE_OK {
            let name = String(cString: archive_entry_pathname(entry))
            var content: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
                if n < 0 { throw LocalServers.ServerError(description: "corrupt entry \(name)") }
                if n == 0 { break }
                content.append(contentsOf: buffer[0..<n])
            }
            out.append((name, content))
        }
        return out
    }
}

extension JSONValue {
    /// A string member of an object (for the flattened item).
    func string(_ key: String) -> String? { self[key]?.stringValue }
}
