import Foundation

/// Structured log lines (logfmt) on stdout, one per event, so `fargate-local logs -f`
/// and CloudWatch show a long job moving. Never given secret values.
public enum Log {
    /// A progress line (`level=info`) of `stage`, with its fields.
    public static func info(_ stage: String, _ message: String, _ fields: [(String, String)] = []) {
        emit("info", stage, message, fields)
    }

    /// A failure line (`level=error`) of `stage`, with its fields.
    public static func error(_ stage: String, _ message: String, _ fields: [(String, String)] = []) {
        emit("error", stage, message, fields)
    }

    /// When the process started logging; every line carries the seconds since then (`t=`).
    static let start = Date()

    static func emit(_ level: String, _ stage: String, _ message: String, _ fields: [(String, String)]) {
        var line = "t=\(String(format: "%.3f", Date().timeIntervalSince(start))) level=\(level) stage=\(stage) msg=\(quote(message))"
        for (k, v) in fields { line += " \(k)=\(quote(v))" }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func quote(_ v: String) -> String {
        let needs = v.isEmpty || v.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        guard needs else { return v }
        return "\""
            + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    /// `12.3 MB`
    public static func bytes(_ n: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n)
        var i = 0
        while v >= 1000 && i < units.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }
}

/// Rate-limited progress lines: bytes done, MB/s and ETA for one stage.
final class ProgressMeter {
    let stage: String
    let total: Int64
    private let started = Date()
    private var lastReport = Date()
    let interval: TimeInterval

    init(stage: String, total: Int64, interval: TimeInterval = 2) {
        self.stage = stage
        self.total = total
        self.interval = interval
    }

    /// Reports `done` bytes if `interval` has passed since the last report (or `force`).
    func report(done: Int64, force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(lastReport) >= interval else { return }
        lastReport = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        let eta = rate > 0 && total > done ? Double(total - done) / rate : 0
        Log.info(
            stage, "progress",
            [
                ("bytes", String(done)), ("total", String(total)),
                ("percent", String(format: "%.1f", total > 0 ? 100 * Double(done) / Double(total) : 100)),
                ("mbps", String(format: "%.1f", rate / 1_000_000)), ("eta_s", String(format: "%.0f", eta)),
            ])
    }
}
