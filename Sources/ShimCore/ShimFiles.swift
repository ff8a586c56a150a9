#if canImport(Glibc)
import Glibc
#endif

/// What a shim runs, written next to its state. The container's environment is not in
/// it (secrets never touch the disk): the shim passes its own environment on.
/// Stored as NUL-separated fields, so the shim reads it without a JSON parser.
public struct ShimSpec: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    public var workingDirectory: String?
    /// The awslogs stream file the shim appends `<ms>\t<line>` to.
    public var logFile: String
    /// The container's resource limits (its ulimits), set in the shim before it starts
    /// the container, which inherits them.
    public var limits: [ResourceLimit]

    public init(executable: String, arguments: [String], workingDirectory: String?, logFile: String, limits: [ResourceLimit] = []) {
        self.executable = executable
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.logFile = logFile
        self.limits = limits
    }

    /// Version 2 carries the limits; version 1 (written before them) is still read, as a
    /// shim started by a newer controller may find an older container's spec.
    static let version = "fargate-local-shim-spec-2"
    static let version1 = "fargate-local-shim-spec-1"

    /// `version NUL logFile NUL workingDirectory NUL limits NUL executable NUL arguments…`,
    /// limits as `nofile=65535:65535,nproc=…`.
    public func encoded() -> [UInt8] {
        let limitText = limits.map { "\($0.name)=\($0.soft):\($0.hard)" }.joined(separator: ",")
        let fields = [Self.version, logFile, workingDirectory ?? "", limitText, executable] + arguments
        return fields.flatMap { Array($0.utf8) + [0] }
    }

    public init?(decoding bytes: [UInt8]) {
        var fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if fields.last == "" { fields.removeLast() }
        guard fields.count >= 4, fields[0] == Self.version || fields[0] == Self.version1 else { return nil }
        logFile = fields[1]
        workingDirectory = fields[2].isEmpty ? nil : fields[2]
        if fields[0] == Self.version1 {
            limits = []
        } else {
            guard fields.count >= 5 else { return nil }
            limits = fields[3].split(separator: ",").compactMap(ResourceLimit.init(encoded:))
            fields.remove(at: 3)
        }
        executable = fields[3]
        arguments = Array(fields.dropFirst(4))
    }
}

/// The files through which a shim and its controller talk: `spec` (what to run), `pid`
/// ("PID STARTTIME" once the container runs) and `exit` (its exit code, written last).
public struct ShimFiles: Sendable {
    public let directory: String
    public var spec: String { directory + "/spec" }
    public var pid: String { directory + "/pid" }
    public var exit: String { directory + "/exit" }
    /// How many of the container's lines could not be written to its log stream (its disk
    /// full, say); written before `exit`, and only when some were lost.
    public var lostLines: String { directory + "/lost-lines" }

    public init(directory: String) { self.directory = directory }

    /// The container's launch spec, as the controller wrote it; nil if absent or unreadable.
    public func readSpec() -> ShimSpec? { FileBytes.read(spec).flatMap(ShimSpec.init(decoding:)) }

    /// The container's pid and its start time (which tells a recycled pid apart), once the shim
    /// has started it.
    public func readPID() -> (pid: pid_t, start: UInt64)? {
        guard let bytes = FileBytes.read(pid) else { return nil }
        let parts = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let p = pid_t(parts[0]), let s = UInt64(parts[1]) else { return nil }
        return (p, s)
    }

    /// How many lines the shim could not write to the log stream (0 when none were lost).
    public func readLostLines() -> Int {
        FileBytes.read(lostLines).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
    }

    /// The recorded exit: its code and, for a container that never started, why.
    public func readExit() -> (code: Int, reason: String?)? {
        guard let bytes = FileBytes.read(exit) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", maxSplits: 1).map(String.init)
        guard let code = lines.first.flatMap({ Int($0) }) else { return nil }
        return (code, lines.count > 1 ? lines[1] : nil)
    }
}
