import Crypto
import ECSModel
import Foundation
import TestSupport
import Testing

/// The bundled task against a real moto server: success, bad requests, faults, resume.
@Suite(.serialized)
struct ZipTaskEndToEndTests {
    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: Data(bytes)).map { String(format: "%02x", $0) }.joined() }

    @Test func exportsFilesWithHostileKeysByteForByte() async throws {
        try await LocalServers.withMoto { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            defer { s.cleanup() }
            let objects: [(String, [UInt8])] = [
                ("reports/2026/q3 summary.txt", ZipScenario.content(random: false, size: 1_500_000)),
                ("media/noise.bin", ZipScenario.content(random: true, size: 2_000_000)),
                ("../../etc/passwd", Array("root:x:0:0\n".utf8)),
                ("/absolute/evil.sh", Array("#!/bin/sh\n".utf8)),
                ("reports/2026/Q3 SUMMARY.TXT", ZipScenario.content(random: false, size: 10_000)),
                ("empty.txt", []),
            ]
            try await s.seed(objects: objects)
            let run = try await s.runZipTask()
            #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
            #expect(run.stdout.contains("stage=verify msg=\"zip verified\" entries=6"))
            #expect(run.stdout.contains("entry renamed for safety\" key=../../etc/passwd entry=etc/passwd"))
            #expect(!run.stdout.contains("AWS_SECRET_ACCESS_KEY") && !run.stdout.contains("secret"))

            let state = try await s.inspect()
            let item = try #require(state["item"])
            #expect(item.string("status") == "COMPLETED")
            #expect(item.string("fileCount") == "6")
            let zipKey = try #require(item.string("zipKey"))
            #expect(zipKey == "exports/\(s.requestID).zip")
            #expect(state["objects"]?.serialized().contains(zipKey) == true)
            #expect(state["open_uploads"] == .number("0"))
            #expect(state["sent_last_24h"] == .number("1.0") || state["sent_last_24h"] == .number("1"))

            let url = try #require(item.string("url"))
            #expect(url.contains("X-Amz-Signature="))
            let (zipBytes, entries) = try await s.download(url)
            #expect(item.string("zipBytes") == String(zipBytes.count))
            #expect(item.string("zipSha256") == Self.sha256(zipBytes))
            #expect(
                entries.map(\.0) == [
                    "reports/2026/q3 summary.txt", "media/noise.bin", "etc/passwd", "absolute/evil.sh", "reports/2026/Q3 SUMMARY (2).TXT", "empty.txt",
                ])
            for ((_, data), (key, _)) in zip(entries, objects) {
                #expect(Self.sha256(data) == Self.sha256(s.sources[key] ?? [1]), "\(key)")
            }
            for (name, _) in entries {
                #expect(!name.hasPrefix("/") && !name.split(separator: "/").contains(".."))
            }
            // The stored (random) entry did not grow; the text shrank. Working files are gone.
            #expect(zipBytes.count < 2_000_000 + 1_500_000 / 2)
            #expect((try? FileManager.default.contentsOfDirectory(atPath: s.workDirectory))?.isEmpty == true)
            // `unzip -t` (the tool users run) agrees.
            let path = s.directory.appendingPathComponent("download.zip").path
            let unzip = try await Command.run("unzip", ["-t", path])
            #expect(unzip.status == 0, "\(unzip.stdout)")
        }
    }

    @Test func missingSourceObjectIsABadRequest() async throws {
        try await LocalServers.withMoto { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            defer { s.cleanup() }
            try await s.seed(objects: [("a.txt", Array("a".utf8))], files: ["a.txt", "missing/b.txt"])
            let run = try await s.runZipTask()
            #expect(run.status == 2)
            let state = try await s.inspect()
            #expect(state["item"]?.string("status") == "FAILED")
            #expect(state["item"]?.string("error")?.contains("s3://zip-src/missing/b.txt does not exist") == true)
            #expect(state["objects"]?.serialized().contains("exports/") == false)
        }
    }

    @Test func tooManyFilesAndMissingItemsAreBadRequests() async throws {
        try await LocalServers.withMoto { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            defer { s.cleanup() }
            try await s.seed(objects: [("1", [1]), ("2", [2]), ("3", [3])])
            let run = try await s.runZipTask(extra: ["MAX_FILES": "2"])
            #expect(run.status == 2)
            let state = try await s.inspect()
            #expect(state["item"]?.string("status") == "FAILED")
            #expect(state["item"]?.string("error")?.contains("lists 3 files; at most 2") == true)

            let missing = try await s.runZipTask(extra: ["REQUEST_ID": "no-such-request"])
            #expect(missing.status == 2)
            #expect(missing.stdout.contains("request no-such-request was not found in table zip-requests"))

            let badEnv = try await s.runZipTask(extra: ["REQUEST_ID": "../../escape"])
            #expect(badEnv.status == 2)
            #expect(badEnv.stdout.contains("REQUEST_ID"))
        }
    }

    @Test func retriesThroughS3FaultsAndStillProducesTheSameZip() async throws {
        try await LocalServers.withMoto { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            defer { s.cleanup() }
            let objects: [(String, [UInt8])] = [
                ("big/one.bin", ZipScenario.content(random: true, size: 3_000_000)),
                ("big/two.log", ZipScenario.content(random: false, size: 3_000_000)),
            ]
            try await s.seed(objects: objects)
            let rules = """
                [{"method": "GET", "match": "/zip-src/big/one.bin", "action": "truncate", "times": 1},
                 {"method": "GET", "match": "/zip-src/big/two.log", "action": "status:503", "times": 2},
                 {"method": "HEAD", "match": "/zip-src/big/two.log", "action": "status:500", "times": 1},
                 {"method": "PUT", "match": "partNumber=1", "action": "status:500", "times": 1},
                 {"method": "POST", "match": "/", "action": "status:503", "times": 1}]
                """
            let log = s.directory.appendingPathComponent("proxy.log").path
            // The presigned URL names the proxy's host, so the download happens while it runs.
            let (run, entries) = try await LocalServers.withFaultProxy(upstream: endpoint, rules: rules, log: log) { proxy in
                let run = try await s.runZipTask(endpoint: proxy)
                let state = try await s.inspect()
                #expect(state["item"]?.string("status") == "COMPLETED")
                let url = state["item"]?.string("url") ?? ""
                return (run, url.isEmpty ? [] : try await s.download(url).entries)
            }
            #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
            let faults = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(faults.contains("FAULT truncate GET"))
            #expect(faults.contains("FAULT status:503 GET"))
            #expect(faults.contains("FAULT status:500 PUT"))
            #expect(run.stdout.contains("stage=fetch msg=retrying key=big/one.bin"))
            #expect(run.stdout.contains("stage=fetch msg=retrying key=big/two.log"))
            #expect(entries.map { Self.sha256($0.1) } == objects.map { Self.sha256($0.1) })
        }
    }

    @Test func aKilledTaskResumesWithoutRefetching() async throws {
        try await LocalServers.withMoto { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            defer { s.cleanup() }
            let objects: [(String, [UInt8])] =
                (1...3).map { ("part-\($0).bin", ZipScenario.content(random: true, size: 1_000_000)) }
                + [("stall.bin", ZipScenario.content(random: true, size: 2_000_000))]
            try await s.seed(objects: objects)
            let rules = #"[{"method": "GET", "match": "/zip-src/stall.bin", "action": "hang", "times": 1}]"#
            let log = s.directory.appendingPathComponent("proxy.log").path
            // First run: the last object stalls; the task is killed once the others are on the volume.
            try await LocalServers.withFaultProxy(upstream: endpoint, rules: rules, log: log) { proxy in
                let env = s.environment(endpoint: proxy, extra: ["FETCH_CONCURRENCY": "1"])
                let script =
                    "\"$0\" & pid=$!; for i in $(seq 1 300); do n=$(grep -l '\"complete\":true' \"$1\"/*/files/*.meta 2>/dev/null | wc -l); [ \"$n\" -ge 3 ] && break; sleep 0.1; done; sleep 0.3; kill -9 $pid; wait $pid; echo killed=$?"
                let r = try await Command.run("/bin/sh", ["-c", script, ZipScenario.zipTaskBinary, s.workDirectory], environment: env)
                #expect(r.stdout.contains("killed=137"), "\(r.stdout)\n\(r.stderr)")
            }
            let partial = try await s.inspect()
            #expect(partial["item"]?.string("status") == "RUNNING")
            #expect(partial["open_uploads"] == .number("1"))
            // Second run, straight to moto: the three whole files are skipped, the partial one resumed or refetched.
            let rerun = try await s.runZipTask()
            #expect(rerun.status == 0, "\(rerun.stdout)")
            #expect(rerun.stdout.contains("files already fetched are skipped\" skipped=3 bytes=3000000"))
            #expect(!rerun.stdout.contains("msg=fetched key=part-1.bin"))
            #expect(rerun.stdout.contains("msg=fetched key=stall.bin"))
            #expect(rerun.stdout.contains("aborted the upload a previous run left open"))
            let state = try await s.inspect()
            #expect(state["item"]?.string("status") == "COMPLETED")
            #expect(state["open_uploads"] == .number("0"))
            let (_, entries) = try await s.download(try #require(state["item"]?.string("url")))
            #expect(entries.map { Self.sha256($0.1) } == objects.map { Self.sha256($0.1) })
        }
    }

    @Test func uploadFailureLeavesNoObjectAndAFailedItem() async throws {
        try await LocalServers.withMoto { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            defer { s.cleanup() }
            try await s.seed(objects: [("a.bin", ZipScenario.content(random: true, size: 200_000))])
            let rules = #"[{"method": "PUT", "match": "partNumber=", "action": "status:500", "times": 100}]"#
            let log = s.directory.appendingPathComponent("proxy.log").path
            let run = try await LocalServers.withFaultProxy(upstream: endpoint, rules: rules, log: log) { proxy in
                try await s.runZipTask(endpoint: proxy)
            }
            #expect(run.status == 4, "\(run.stdout)")
            #expect(run.stdout.contains("aborted the multipart upload"))
            let state = try await s.inspect()
            #expect(state["item"]?.string("status") == "FAILED")
            #expect(state["item"]?.string("error")?.contains("uploading part 1") == true)
            #expect(state["objects"]?.serialized().contains("exports/") == false)
            #expect(state["open_uploads"] == .number("0"))
            // Fetched inputs are kept for a later resume.
            #expect((try? FileManager.default.contentsOfDirectory(atPath: s.workDirectory + "/" + s.requestID + "/files"))?.isEmpty == false)
        }
    }

    /// A part damaged between zip-task and S3 (same length, one byte flipped): moto stores it
    /// without checking, so the object's composite CRC-32 must catch it before anyone gets a link.
    @Test func aPartCorruptedOnTheWayIsCaughtAndTheZipDeleted() async throws {
        try await LocalServers.withMoto { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            defer { s.cleanup() }
            try await s.seed(objects: [("a.bin", ZipScenario.content(random: true, size: 300_000))])
            let rules = #"[{"method": "PUT", "match": "partNumber=1&", "action": "corrupt", "times": 1}]"#
            let log = s.directory.appendingPathComponent("proxy.log").path
            let run = try await LocalServers.withFaultProxy(upstream: endpoint, rules: rules, log: log) { proxy in
                try await s.runZipTask(endpoint: proxy)
            }
            #expect((try? String(contentsOfFile: log, encoding: .utf8))?.contains("FAULT corrupt PUT") == true)
            #expect(run.status == 4, "\(run.stdout)")
            #expect(run.stdout.contains("deleted the zip that failed verification"))
            let state = try await s.inspect()
            #expect(state["item"]?.string("status") == "FAILED")
            #expect(state["item"]?.string("error")?.contains("has checksum") == true)
            #expect(state["item"]?.string("url") == nil)
            #expect(state["objects"]?.serialized().contains("exports/") == false)
            #expect(state["sent_last_24h"] != .number("1.0") && state["sent_last_24h"] != .number("1"))
        }
    }

    @Test func runsThroughTheControllerWithTheShippedTaskDefinition() async throws {
        try await LocalServers.withMoto { endpoint in
            var s = try ZipScenario(endpoint: endpoint)
            s.bucket = "zip-export-source"
            defer { s.cleanup() }
            let objects: [(String, [UInt8])] = [
                ("in/a.log", ZipScenario.content(random: false, size: 400_000)), ("in/b.bin", ZipScenario.content(random: true, size: 300_000)),
            ]
            try await s.seed(objects: objects)
            let cli = CLIHarness()
            defer { cli.cleanup() }
            let report = s.directory.appendingPathComponent("report.json").path
            let r = try await cli.run([
                "run", "--wait", "--runtime", "process", "taskdefs/zip-export.json",
                "--env", "REQUEST_ID=\(s.requestID)", "--env", "AWS_ENDPOINT_URL=\(endpoint)",
                "--env", "AWS_ACCESS_KEY_ID=test", "--env", "AWS_SECRET_ACCESS_KEY=test", "--report", report,
            ])
            guard geteuid() == 0 else {
                // The EFS volume needs a private mount namespace, which needs root.
                #expect(r.status == 125)
                #expect(r.stderr.contains("ResourceInitializationError"))
                return
            }
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.contains("level=info stage=verify msg=\"zip verified\" entries=2"))
            #expect(r.stdout.contains("zip-task | t="))
            let state = try await s.inspect()
            #expect(state["item"]?.string("status") == "COMPLETED")
            let (_, entries) = try await s.download(try #require(state["item"]?.string("url")))
            #expect(entries.map(\.0) == ["in/a.log", "in/b.bin"])
            // The EFS folder (shared, kept) is under the state directory; the request's files were cleaned up.
            let efs = cli.stateDirectory.appendingPathComponent("efs/fs-0zipexport").path
            #expect(FileManager.default.fileExists(atPath: efs))
            #expect(!FileManager.default.fileExists(atPath: efs + "/" + s.requestID))
            let doc = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: report))))
            #expect(doc["stopCode"] == .string("EssentialContainerExited"))
            #expect(doc["exitCode"] == .number("0"))
            let logs = try await cli.run(["logs", try #require(doc["taskArn"]?.stringValue)])
            #expect(logs.stdout.contains("stage=done msg=\"export complete\""))
        }
    }
}
