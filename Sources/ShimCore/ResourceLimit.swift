#if canImport(Glibc)
import Glibc
#endif

/// One resource limit of a container, as ECS's `ulimits` name it (`nofile`, `nproc`, …).
public struct ResourceLimit: Sendable, Equatable {
    public var name: String
    public var soft: Int
    public var hard: Int

    public init(name: String, soft: Int, hard: Int) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    /// `name=soft:hard`.
    init?(encoded: Substring) {
        let parts = encoded.split(separator: "=", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let values = parts[1].split(separator: ":")
        guard values.count == 2, let soft = Int(values[0]), let hard = Int(values[1]) else { return nil }
        self.init(name: String(parts[0]), soft: soft, hard: hard)
    }

    /// Linux's resource number for an ECS ulimit name (its ABI: `RLIMIT_CPU` is 0, ...).
    public static func resource(named name: String) -> Int32? {
        let numbers: [String: Int32] = [
            "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6, "nofile": 7,
            "memlock": 8, "locks": 10, "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15,
        ]
        return numbers[name]
    }

    /// This process's hard limit for `name` (nil: unknown name; Int.max: unlimited).
    public static func currentHard(_ name: String) -> Int? {
        guard let resource = resource(named: name) else { return nil }
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(resource), &limit) == 0 else { return nil }
        return limit.rlim_max == rlim_t.max ? Int.max : Int(limit.rlim_max)
    }

    /// Sets this process's limit (inherited by what it starts): the hard limit no higher
    /// than it is (only privileged processes may raise it), the soft one within it.
    /// False when the kernel refused.
    @discardableResult
    public func apply() -> Bool {
        guard let resource = Self.resource(named: name), let current = Self.currentHard(name) else { return false }
        let hard = min(hard, current)
        let soft = min(soft, hard)
        var limit = rlimit(rlim_cur: soft == Int.max ? rlim_t.max : rlim_t(soft), rlim_max: hard == Int.max ? rlim_t.max : rlim_t(hard))
        return setrlimit(__rlimit_resource_t(resource), &limit) == 0
    }
}
