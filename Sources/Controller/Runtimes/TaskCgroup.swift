import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The task-level cgroup that makes a task's `cpu` and `memory` a ceiling over all its
/// containers, as on Fargate: `/fargate-local/<task>` under the cgroup hierarchy, given to
/// Docker as each container's `CgroupParent` (cgroupfs driver), with the containers'
/// own limits inside it. cgroup v1 (the memory and cpu controllers' hierarchies) and v2
/// (the unified hierarchy) are both handled.
struct TaskCgroup: Sendable {
    /// `CgroupParent` for Docker.
    let parent: String
    /// The directories made for the task (removed with it).
    let directories: [String]

    static let root = "/sys/fs/cgroup"

    /// Which cgroup layout the host has, if the controller can write it.
    enum Layout: Sendable, Equatable {
        case v1(memory: String, cpu: String)
        case v2(String)
    }

    /// The host's layout when the controller can make task cgroups there (root, a writable
    /// /sys/fs/cgroup), else nil with why not.
    static func detect(root: String = root) -> (Layout?, String?) {
        let fm = FileManager.default
        if fm.fileExists(atPath: root + "/cgroup.controllers") {
            let controllers = (try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8)) ?? ""
            guard controllers.contains("memory"), controllers.contains("cpu") else {
                return (nil, "the cgroup v2 hierarchy at \(root) lacks the memory or cpu controller")
            }
            guard access(root, W_OK) == 0 else { return (nil, "\(root) is not writable (run as root)") }
            return (.v2(root), nil)
        }
        let memory = root + "/memory"
        let cpu = fm.fileExists(atPath: root + "/cpu,cpuacct") ? root + "/cpu,cpuacct" : root + "/cpu"
        guard fm.fileExists(atPath: memory + "/memory.limit_in_bytes"), fm.fileExists(atPath: cpu + "/cpu.cfs_quota_us") else {
            return (nil, "no cgroup v1 memory and cpu hierarchies under \(root)")
        }
        guard access(memory, W_OK) == 0, access(cpu, W_OK) == 0 else { return (nil, "\(memory) is not writable (run as root)") }
        return (.v1(memory: memory, cpu: cpu), nil)
    }

    static func name(forTask taskID: String) -> String { "fargate-local/\(taskID.prefix(12))" }

    /// The task's `CgroupParent` for Docker (what `make` returns as `parent`).
    static func parent(forTask taskID: String) -> String { "/" + name(forTask: taskID) }

    /// Makes the task's cgroup with its limits (`cpu` in ECS units, `memoryMiB`).
    static func make(taskID: String, cpu: Int?, memoryMiB: Int?, layout: Layout) throws(ControllerError) -> TaskCgroup {
        let name = name(forTask: taskID)
        let period = 100_000
        let quota = cpu.map { max(1_000, $0 * period / 1024) }
        let bytes = memoryMiB.map { $0 * 1024 * 1024 }
        switch layout {
        case let .v1(memoryRoot, cpuRoot):
            let memoryDir = memoryRoot + "/" + name
            let cpuDir = cpuRoot + "/" + name
            try makeDirectory(memoryRoot + "/fargate-local")
            try makeDirectory(cpuRoot + "/fargate-local")
            try makeDirectory(memoryDir)
            try makeDirectory(cpuDir)
            if let bytes {
                try write(String(bytes), to: memoryDir + "/memory.limit_in_bytes")
                if FileManager.default.fileExists(atPath: memoryDir + "/memory.memsw.limit_in_bytes") {
                    try write(String(bytes), to: memoryDir + "/memory.memsw.limit_in_bytes")
                }
            }
            if let quota {
                try write(String(period), to: cpuDir + "/cpu.cfs_period_us")
                try write(String(quota), to: cpuDir + "/cpu.cfs_quota_us")
            }
            return TaskCgroup(parent: parent(forTask: taskID), directories: [memoryDir, cpuDir])
        case let .v2(root):
            // Delegate the controllers down to the task's cgroup.
            try? write("+memory +cpu", to: root + "/cgroup.subtree_control")
            try makeDirectory(root + "/fargate-local")
            try? write("+memory +cpu", to: root + "/fargate-local/cgroup.subtree_control")
            let dir = root + "/" + name
            try makeDirectory(dir)
            if let bytes {
                try write(String(bytes), to: dir + "/memory.max")
                try? write("0", to: dir + "/memory.swap.max")
            }
            if let quota { try write("\(quota) \(period)", to: dir + "/cpu.max") }
            return TaskCgroup(parent: parent(forTask: taskID), directories: [dir])
        }
    }

    /// Removes the task's cgroup directories (empty once its containers are removed).
    static func remove(taskID: String, layout: Layout) {
        let name = name(forTask: taskID)
        let dirs: [String]
        switch layout {
        case let .v1(memory, cpu): dirs = [memory + "/" + name, cpu + "/" + name]
        case let .v2(root): dirs = [root + "/" + name]
        }
        for dir in dirs where FileManager.default.fileExists(atPath: dir) {
            // A container's own cgroup inside may take a moment to go after its removal.
            for attempt in 0..<20 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                if attempt < 19 { usleep(25_000) }
            }
        }
    }

    /// Removes task cgroups left empty for over `age` seconds: those of tasks run with
    /// `--keep-containers` whose containers were removed later, or of a controller that
    /// died. A cgroup that still holds a container (or a task's new one) is never removed:
    /// `rmdir` refuses a cgroup with members or children, and new ones are younger.
    static func sweepEmpty(layout: Layout, olderThan age: TimeInterval = 3600) {
        let roots: [String]
        switch layout {
        case let .v1(memory, cpu): roots = [memory + "/fargate-local", cpu + "/fargate-local"]
        case let .v2(root): roots = [root + "/fargate-local"]
        }
        let cutoff = time(nil) - time_t(age)
        for root in roots {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { continue }
            for name in names {
                var st = stat()
                let path = root + "/" + name
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_ctim.tv_sec < cutoff else { continue }
                _ = rmdir(path)
            }
        }
    }

    private static func makeDirectory(_ path: String) throws(ControllerError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw ControllerError(.io, "cannot create the task's cgroup \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func write(_ value: String, to path: String) throws(ControllerError) {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw ControllerError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw ControllerError(.io, "cannot set \(path) to \(value): \(String(cString: strerror(errno)))")
        }
    }
}
