#if canImport(Glibc)
import Glibc
#endif

/// The shim's work (`fargate-local-shim DIR`, or `fargate-local shim DIR`): run one
/// process-runtime container, append its output to its log stream, record its pid and
/// its exit. It outlives the controller that started it. Plain C library calls only, so
/// it starts in a few milliseconds.
public enum ContainerShim {
    /// Runs the container described in `directory`; returns once its exit is recorded.
    /// `notifyFD`: a pipe to the controller that started the shim. It gets one byte once
    /// the container runs (its pid recorded), and its end (the shim exiting) tells the
    /// controller at once that the exit is recorded. The container does not inherit it.
    public static func run(directory: String, notifyFD: Int32? = nil) -> Int32 {
        let directory = directory.hasPrefix("/") ? directory : (currentDirectory() + "/" + directory)
        let files = ShimFiles(directory: directory)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { signal(sig, SIG_IGN) }
        if let notifyFD { _ = fcntl(notifyFD, F_SETFD, FD_CLOEXEC) }
        closeInheritedSockets()
        guard let spec = files.readSpec() else {
            FileBytes.writeAtomically("255\nCannotStartContainerError: the shim found no container spec in \(directory)", to: files.exit)
            return 1
        }
        let log = open(spec.logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else {
            FileBytes.writeAtomically("255\nResourceInitializationError: cannot open the log stream \(spec.logFile)", to: files.exit)
            return 1
        }
        defer { close(log) }
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        guard pipe(&out) == 0, pipe(&err) == 0 else {
            FileBytes.writeAtomically("255\nResourceInitializationError: cannot create pipes: \(String(cString: strerror(errno)))", to: files.exit)
            return 1
        }
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        // The container's ulimits: set here, inherited by the container.
        for limit in spec.limits { limit.apply() }
        let pid: pid_t
        switch spawn(spec, stdout: out[1], stderr: err[1]) {
        case let .success(p): pid = p
        case let .failure(message):
            FileBytes.writeAtomically("255\nCannotStartContainerError: \(message)", to: files.exit)
            return 0
        }
        close(out[1])
        close(err[1])
        FileBytes.writeAtomically("\(pid) \(ProcStat.startTime(pid) ?? 0)", to: files.pid)
        if let notifyFD {
            // A controller that has gone gets EPIPE here (SIGPIPE is ignored): nothing to do.
            var started: UInt8 = 0x53
            _ = write(notifyFD, &started, 1)
        }

        let (status, lost) = pump(pid: pid, out: out[0], err: err[0], log: log)
        if lost > 0 { FileBytes.writeAtomically("\(lost)", to: files.lostLines) }
        // Not fsynced: the log and the exit record are in the page cache, which every process
        // reads, before the exit is known; like the state database's commits (synchronous =
        // NORMAL), they survive any process's crash, not a power loss.
        FileBytes.writeAtomically("\(status)", to: files.exit)
        return 0
    }

    enum Spawned {
        case success(pid_t)
        case failure(String)
    }

    /// Starts the container in a process group of its own, signals back to their defaults,
    /// stdin from /dev/null, the shim's environment without its marker.
    static func spawn(_ spec: ShimSpec, stdout: Int32, stderr: Int32) -> Spawned {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setsigmask(&attr, &mask)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // The container starts in its working directory: the shim's own (its paths are absolute).
        if let wd = spec.workingDirectory, chdir(wd) != 0 {
            return .failure("working directory \(wd): \(String(cString: strerror(errno)))")
        }
        var argv: [UnsafeMutablePointer<CChar>?] = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = []
        var entry = environ
        while let variable = entry.pointee {
            if strncmp(variable, "FARGATE_LOCAL_SHIM=", 19) != 0 { envp.append(strdup(variable)) }
            entry += 1
        }
        envp.append(nil)
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, spec.executable, &actions, &attr, &argv, &envp)
        guard rc == 0 else { return .failure("\(spec.executable): \(String(cString: strerror(rc)))") }
        return .success(pid)
    }

    /// Copies both pipes into the log as timestamped lines until they close; once the
    /// container's main process has exited, whatever it left in its process group is
    /// killed so the pipes close. Returns the exit code (128 + signal when killed) and how
    /// many lines could not be written to the log (its disk full, say).
    static func pump(pid: pid_t, out: Int32, err: Int32, log: Int32) -> (exitCode: Int, lostLines: Int) {
        var assemblers = [LineAssembler(), LineAssembler()]
        var open = [true, true]
        var exitCode: Int?
        var lost = 0
        var buffer = [UInt8](repeating: 0, count: 65536)

        func write(_ lines: [String]) {
            guard !lines.isEmpty else { return }
            let stamp = Array(String(nowMilliseconds()).utf8)
            var chunk: [UInt8] = []
            chunk.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + stamp.count + 2 })
            for line in lines {
                chunk.append(contentsOf: stamp)
                chunk.append(0x09)
                chunk.append(contentsOf: line.utf8)
                chunk.append(0x0A)
            }
            if !FileBytes.writeAll(log, chunk) { lost += lines.count }
        }
        func reap(_ flags: Int32) {
            guard exitCode == nil else { return }
            var status: Int32 = 0
            let r = waitpid(pid, &status, flags)
            if r == pid {
                let signal = status & 0x7F
                exitCode = signal == 0 ? Int((status >> 8) & 0xFF) : 128 + Int(signal)
            } else if r < 0 && errno != EINTR {
                exitCode = 255
            }
        }

        while open[0] || open[1] {
            var fds = [
                pollfd(fd: open[0] ? out : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: open[1] ? err : -1, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, 100)
            if ready < 0 && errno != EINTR { break }
            for i in 0..<2 where open[i] && fds[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    write(buffer.withUnsafeBytes { assemblers[i].append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) })
                } else if n == 0 || errno != EINTR {
                    open[i] = false
                    if let last = assemblers[i].finish() { write([last]) }
                }
            }
            // Once the main process is gone, whatever still holds the pipes is killed.
            reap(WNOHANG)
            if exitCode != nil && (open[0] || open[1]) { kill(-pid, SIGKILL) }
        }
        close(out)
        close(err)
        reap(0)
        return (exitCode ?? 255, lost)
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The shim is spawned by a controller whose listening sockets are not close-on-exec; a
    /// shim holding them would keep the port busy after the controller dies.
    static func closeInheritedSockets() {
        guard let dir = opendir("/proc/self/fd") else { return }
        var sockets: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let fd = Int32(name), fd > 2, fd != dirfd(dir) else { continue }
            var target = [CChar](repeating: 0, count: 256)
            let n = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
            if n > 0, String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self).hasPrefix("socket:") { sockets.append(fd) }
        }
        closedir(dir)
        for fd in sockets { close(fd) }
    }
}
