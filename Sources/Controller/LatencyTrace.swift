#if canImport(Glibc)
import Glibc
#endif

/// With `FARGATE_LOCAL_TRACE=1` in the environment, prints `trace <CLOCK_MONOTONIC ms> <what>`
/// lines to stderr at the steps of a task's start and stop, to see where latency goes (the
/// clock is the one `time.monotonic()` reads, so a harness can line its own marks up with them).
public enum LatencyTrace {
    /// Read once; tracing cannot be switched on while running.
    public static let enabled: Bool = getenv("FARGATE_LOCAL_TRACE").map { String(cString: $0) != "" && String(cString: $0) != "0" } ?? false

    /// Prints one trace line when tracing is on; `what` is not evaluated otherwise.
    public static func mark(_ what: @autoclosure () -> String) {
        guard enabled else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let ms = Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1_000_000
        let line = "trace \(milliseconds(ms)) \(what())\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    private static func milliseconds(_ ms: Double) -> String {
        let whole = Int(ms)
        let frac = Int((ms - Double(whole)) * 1000)
        let padded = frac < 10 ? "00\(frac)" : frac < 100 ? "0\(frac)" : "\(frac)"
        return "\(whole).\(padded)"
    }
}
