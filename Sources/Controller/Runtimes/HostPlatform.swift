import ECSModel
import Foundation

/// What this host runs natively, and which foreign architectures it can run under emulation
/// (binfmt_misc, as qemu-user-static registers it), against a task's `runtimePlatform`.
public enum HostPlatform {
    /// The ECS name of this host's CPU architecture (`X86_64`, `ARM64`), or its machine name.
    public static var architecture: String {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return ecsArchitecture(machine: machine)
    }

    /// `x86_64`/`amd64` → `X86_64`, `aarch64`/`arm64` → `ARM64`.
    public static func ecsArchitecture(machine: String) -> String {
        switch machine {
        case "x86_64", "amd64": return "X86_64"
        case "aarch64", "arm64": return "ARM64"
        default: return machine.uppercased()
        }
    }

    /// How this host runs executables of an ECS architecture.
    public enum Execution: Equatable, Sendable {
        case native
        /// An enabled binfmt_misc entry with the fix-binary flag (`F`): usable inside containers.
        case emulated(entry: String)
        /// An enabled entry without `F`: its interpreter is looked up inside each container's
        /// filesystem, where it usually is not.
        case emulatedOutsideContainersOnly(entry: String)
        case unavailable
    }

    /// The ELF `e_machine` of an ECS architecture, as it appears in a binfmt_misc magic (hex,
    /// little-endian).
    static func elfMachineHex(ecs: String) -> String? {
        switch ecs {
        case "ARM64": return "b700"
        case "X86_64": return "3e00"
        default: return nil
        }
    }

    /// How executables of `architecture` run here; `binfmtDirectory` is where binfmt_misc is mounted.
    public static func execution(
        of architecture: String, host: String = HostPlatform.architecture,
        binfmtDirectory: String = "/proc/sys/fs/binfmt_misc"
    ) -> Execution {
        if architecture == host { return .native }
        guard let machine = elfMachineHex(ecs: architecture),
            let entries = try? FileManager.default.contentsOfDirectory(atPath: binfmtDirectory)
        else { return .unavailable }
        var withoutFix: String?
        for entry in entries.sorted() where entry != "register" && entry != "status" {
            guard let text = try? String(contentsOfFile: binfmtDirectory + "/" + entry, encoding: .utf8) else { continue }
            let lines = text.split(separator: "\n").map(String.init)
            guard lines.first == "enabled",
                let magic = lines.first(where: { $0.hasPrefix("magic ") })?.dropFirst(6),
                // An ELF, 64-bit little-endian, of that machine: bytes 0-5 and 18-19.
                magic.hasPrefix("7f454c460201"), magic.count >= 40,
                magic.dropFirst(36).prefix(4) == machine
            else { continue }
            let flags = lines.first(where: { $0.hasPrefix("flags:") }) ?? ""
            if flags.dropFirst(6).contains("F") { return .emulated(entry: entry) }
            withoutFix = withoutFix ?? entry
        }
        return withoutFix.map { .emulatedOutsideContainersOnly(entry: $0) } ?? .unavailable
    }

    /// What a user should know when a task of `platform` starts in `runtime` here: lines
    /// for the task's console, warnings prefixed "warning: ". Empty when it runs natively.
    public static func startNotes(
        for platform: RuntimePlatform, runtime: String, host: String = HostPlatform.architecture,
        binfmtDirectory: String = "/proc/sys/fs/binfmt_misc"
    ) -> [String] {
        let wanted = platform.architecture
        guard wanted != host, !platform.isWindows else { return [] }
        if runtime == "process" {
            return [
                "warning: the task's runtimePlatform.cpuArchitecture is \(wanted); the process runtime runs this \(host) host's own executables (use --runtime docker to run its \(RuntimePlatform.goArchitecture(ecs: wanted)) images)"
            ]
        }
        switch execution(of: wanted, host: host, binfmtDirectory: binfmtDirectory) {
        case .native:
            return []
        case let .emulated(entry):
            return [
                "the task's containers run \(platform.imagePlatform ?? wanted) images under emulation on this \(host) host (binfmt_misc \(entry)): slower than on Fargate"
            ]
        case let .emulatedOutsideContainersOnly(entry):
            return [
                "warning: the task's runtimePlatform.cpuArchitecture is \(wanted), and binfmt_misc \(entry) on this \(host) host lacks the fix-binary flag (F): containers cannot reach its interpreter, so they fail with 'exec format error' here though Fargate would run them (re-register it with F, as qemu-user-static does)"
            ]
        case .unavailable:
            return [
                "warning: the task's runtimePlatform.cpuArchitecture is \(wanted), and this \(host) host has no \(wanted) emulation in binfmt_misc: its containers fail with 'exec format error' here though Fargate would run them (install qemu-user-static and binfmt-support)"
            ]
        }
    }

    /// For the process runtime, when this host's time zone is not UTC: its containers are
    /// host processes and tell time in it, where Fargate's tell time in their image's (UTC
    /// for most images). Nil when the host runs UTC or the task sets TZ (`setsTZ`).
    public static func timeZoneNote(runtime: String, setsTZ: Bool, localtime: String = "/etc/localtime") -> String? {
        guard runtime == "process", !setsTZ, let zone = hostTimeZone(localtime: localtime) else { return nil }
        return
            "note: the process runtime's containers tell time in this host's time zone (\(zone)); on Fargate they use their image's, UTC for most images (set TZ in the task's environment to choose one)"
    }

    /// This host's time zone, from `/etc/localtime` (the zone it links to, or a copied
    /// zone file's POSIX rule); nil for UTC, or when there is none (glibc then uses UTC).
    static func hostTimeZone(localtime: String) -> String? {
        let utc: Set<String> = [
            "UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
            "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "Greenwich", "Etc/Greenwich",
        ]
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: localtime) {
            let name = target.range(of: "zoneinfo/").map { String(target[$0.upperBound...]) } ?? target
            return utc.contains(name) ? nil : name
        }
        // A copied zone file ends with its POSIX rule on a line of its own ("UTC0" for UTC).
        guard let data = FileManager.default.contents(atPath: localtime), !data.isEmpty else { return nil }
        let rule = String(decoding: data.suffix(64), as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        return ["UTC0", "UCT0", "GMT0"].contains(rule) ? nil : (rule.isEmpty ? "not UTC" : rule)
    }
}
