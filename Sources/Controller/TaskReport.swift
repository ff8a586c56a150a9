import ECSModel
import Foundation

/// The CI report of a finished task: JSON for scripts, JUnit XML for CI dashboards.
public struct TaskReport: Sendable {
    public let record: TaskRecord
    public let logs: LogStore

    public init(record: TaskRecord, logs: LogStore) {
        self.record = record
        self.logs = logs
    }

    /// `{"taskArn", "stopCode", "stoppedReason", timestamps, "containers": [...]}`.
    public func json() -> String {
        let t = record.task
        func time(_ d: Date?) -> JSONValue { d.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null }
        func str(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        let containers: [JSONValue] = t.containers.map { c in
            let essential = record.definition.containerDefinitions.first { $0.name == c.name }?.isEssential ?? true
            let stream = record.logStreams[c.name]
            return .object([
                ("name", .string(c.name)),
                ("essential", .bool(essential)),
                ("lastStatus", .string(c.lastStatus.rawValue)),
                ("exitCode", c.exitCode.map { .number(String($0)) } ?? .null),
                ("reason", str(c.reason)),
                ("healthStatus", str(c.healthStatus?.rawValue)),
                ("logGroup", str(stream?.group)),
                ("logStream", str(stream?.stream)),
                ("logFile", str(stream.map { logs.fileURL(for: $0).path })),
            ])
        }
        let doc: JSONValue = .object([
            ("taskArn", .string(t.taskArn)),
            ("taskDefinitionArn", .string(t.taskDefinitionArn)),
            ("lastStatus", .string(t.lastStatus.rawValue)),
            ("stopCode", str(t.stopCode?.rawValue)),
            ("stoppedReason", str(t.stoppedReason)),
            ("exitCode", .number(String(record.waitExitCode))),
            ("createdAt", time(t.createdAt)),
            ("startedAt", time(t.startedAt)),
            ("stoppingAt", time(t.stoppingAt)),
            ("stoppedAt", time(t.stoppedAt)),
            ("containers", .array(containers)),
        ])
        return doc.serialized(pretty: true) + "\n"
    }

    /// One test case per container; an essential container that exited non-zero (or never ran) fails.
    public func junitXML() -> String {
        let t = record.task
        let duration = (t.stoppedAt ?? Date()).timeIntervalSince(t.startedAt ?? t.createdAt ?? Date())
        var cases: [String] = []
        var failures = 0
        for c in t.containers {
            let essential = record.definition.containerDefinitions.first { $0.name == c.name }?.isEssential ?? true
            var body = ""
            let failed = essential && (c.exitCode ?? -1) != 0
            if failed {
                failures += 1
                let what = c.exitCode.map { "exited with code \($0)" } ?? "did not run"
                let message = "essential container \(c.name) \(what)" + (t.stoppedReason.map { "; task: \($0)" } ?? "")
                body += "<failure message=\"\(Self.escape(message))\"/>"
            }
            if let stream = record.logStreams[c.name] {
                let tail = logs.cloudWatchEvents(of: stream).suffix(200).map { $0.message.hasSuffix("\n") ? String($0.message.dropLast()) : $0.message }.joined(
                    separator: "\n")
                body += "<system-out>\(Self.escape(tail))</system-out>"
            }
            cases.append("    <testcase classname=\"\(Self.escape(record.definition.family))\" name=\"\(Self.escape(c.name))\">\(body)</testcase>")
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites>
              <testsuite name="\(Self.escape("\(record.definition.family) \(t.taskID)"))" tests="\(t.containers.count)" failures="\(failures)" errors="0" time="\(String(format: "%.3f", max(0, duration)))">
            \(cases.joined(separator: "\n"))
              </testsuite>
            </testsuites>

            """
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            default:
                // XML 1.0 forbids most control characters.
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { out += "?" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
