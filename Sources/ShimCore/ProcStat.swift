#if canImport(Glibc)
import Glibc
#endif

/// Reads a process's state from /proc: a zombie or a vanished pid has exited
/// (`kill(pid, 0)` reports zombies as alive).
public enum ProcStat {
    static func fieldsAfterName(_ pid: pid_t) -> [Substring]? {
        guard let bytes = FileBytes.read("/proc/\(pid)/stat") else { return nil }
        let stat = String(decoding: bytes, as: UTF8.self)
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Whether `pid` has exited: it is gone, a zombie or dead.
    public static func hasExited(_ pid: pid_t) -> Bool {
        guard let state = fieldsAfterName(pid)?.first else { return true }
        return state.hasPrefix("Z") || state.hasPrefix("X")
    }

    /// The process's start time in clock ticks since boot (field 22), which tells a recycled pid apart.
    public static func startTime(_ pid: pid_t) -> UInt64? {
        // fields[0] is field 3 (state); field 22 is fields[19].
        guard let fields = fieldsAfterName(pid), fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }
}
