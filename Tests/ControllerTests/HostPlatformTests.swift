import ECSModel
import Foundation
import Testing

@testable import Controller

/// How a task's runtimePlatform meets this host: native, emulated through binfmt_misc (read
/// from a directory laid out as /proc/sys/fs/binfmt_misc is), or not at all.
struct HostPlatformTests {
    static let aarch64Magic = "7f454c460201010000000000000000000200b700"
    static let amd64ELFMagic = "7f454c4602010100000000000000000002003e00"

    /// A binfmt_misc directory with `entries` (name → file text) beside register and status.
    func binfmt(_ entries: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("binfmt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "".write(toFile: dir + "/register", atomically: true, encoding: .utf8)
        try "enabled\n".write(toFile: dir + "/status", atomically: true, encoding: .utf8)
        for (name, text) in entries { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    func entry(enabled: Bool = true, flags: String, magic: String) -> String {
        "\(enabled ? "enabled" : "disabled")\ninterpreter /usr/libexec/qemu-binfmt/x\nflags: \(flags)\noffset 0\nmagic \(magic)\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
    }

    @Test func architecturesAreNamedAsECSNamesThem() {
        #expect(HostPlatform.ecsArchitecture(machine: "x86_64") == "X86_64")
        #expect(HostPlatform.ecsArchitecture(machine: "aarch64") == "ARM64")
        #expect(RuntimePlatform().imagePlatform == "linux/amd64")
        #expect(RuntimePlatform(cpuArchitecture: "ARM64").imagePlatform == "linux/arm64")
        #expect(RuntimePlatform(operatingSystemFamily: "WINDOWS_SERVER_2019_FULL").imagePlatform == nil)
        #expect(RuntimePlatform(operatingSystemFamily: "WINDOWS_SERVER_2019_FULL").isWindows)
        #expect(!RuntimePlatform(operatingSystemFamily: "LINUX").isWindows)
    }

    @Test func emulationIsFoundByTheELFMachineInTheMagic() throws {
        let fixed = try binfmt([
            "python3.11": "enabled\ninterpreter /usr/bin/python3.11\nflags: \noffset 0\nmagic a70d0d0a\n",
            "qemu-aarch64": entry(flags: "PF", magic: Self.aarch64Magic),
        ])
        let unfixed = try binfmt(["arm64-emu": entry(flags: "P", magic: Self.aarch64Magic)])
        let disabled = try binfmt(["qemu-aarch64": entry(enabled: false, flags: "PF", magic: Self.aarch64Magic)])
        let otherMachine = try binfmt(["qemu-x86_64": entry(flags: "F", magic: Self.amd64ELFMagic)])
        defer { for d in [fixed, unfixed, disabled, otherMachine] { try? FileManager.default.removeItem(atPath: d) } }

        #expect(HostPlatform.execution(of: "X86_64", host: "X86_64", binfmtDirectory: fixed) == .native)
        #expect(HostPlatform.execution(of: "ARM64", host: "X86_64", binfmtDirectory: fixed) == .emulated(entry: "qemu-aarch64"))
        #expect(HostPlatform.execution(of: "ARM64", host: "X86_64", binfmtDirectory: unfixed) == .emulatedOutsideContainersOnly(entry: "arm64-emu"))
        #expect(HostPlatform.execution(of: "ARM64", host: "X86_64", binfmtDirectory: disabled) == .unavailable)
        #expect(HostPlatform.execution(of: "ARM64", host: "X86_64", binfmtDirectory: otherMachine) == .unavailable)
        #expect(HostPlatform.execution(of: "X86_64", host: "ARM64", binfmtDirectory: otherMachine) == .emulated(entry: "qemu-x86_64"))
        #expect(HostPlatform.execution(of: "ARM64", host: "X86_64", binfmtDirectory: "/nonexistent") == .unavailable)
    }

    @Test func startNotesSayWhatTheHostWillDo() throws {
        let none = try binfmt([:])
        let qemu = try binfmt(["qemu-aarch64": entry(flags: "PF", magic: Self.aarch64Magic)])
        defer { for d in [none, qemu] { try? FileManager.default.removeItem(atPath: d) } }
        let arm = RuntimePlatform(cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX")

        #expect(HostPlatform.startNotes(for: RuntimePlatform(), runtime: "docker", host: "X86_64", binfmtDirectory: none).isEmpty)
        #expect(HostPlatform.startNotes(for: arm, runtime: "docker", host: "ARM64", binfmtDirectory: none).isEmpty)
        let emulated = HostPlatform.startNotes(for: arm, runtime: "docker", host: "X86_64", binfmtDirectory: qemu)
        #expect(
            emulated == ["the task's containers run linux/arm64 images under emulation on this X86_64 host (binfmt_misc qemu-aarch64): slower than on Fargate"])
        let missing = HostPlatform.startNotes(for: arm, runtime: "docker", host: "X86_64", binfmtDirectory: none)
        #expect(
            missing.count == 1 && missing[0].hasPrefix("warning: ") && missing[0].contains("'exec format error'") && missing[0].contains("qemu-user-static"),
            "\(missing)")
        let process = HostPlatform.startNotes(for: arm, runtime: "process", host: "X86_64", binfmtDirectory: qemu)
        #expect(
            process == [
                "warning: the task's runtimePlatform.cpuArchitecture is ARM64; the process runtime runs this X86_64 host's own executables (use --runtime docker to run its arm64 images)"
            ])
        // An X86_64 task on an ARM64 host (an ARM laptop) is the same question the other way.
        #expect(
            HostPlatform.startNotes(for: RuntimePlatform(), runtime: "docker", host: "ARM64", binfmtDirectory: none).first?.contains("no X86_64 emulation")
                == true)
    }

    /// The process runtime's containers tell time in the host's zone: said when it is not
    /// UTC (from /etc/localtime, a link or a copied zone file), unless the task sets TZ.
    @Test func aHostTimeZoneOtherThanUTCIsNoted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/paris", withDestinationPath: "/usr/share/zoneinfo/Europe/Paris")
        try FileManager.default.createSymbolicLink(atPath: dir + "/utc", withDestinationPath: "../usr/share/zoneinfo/Etc/UTC")
        try FileManager.default.copyItem(atPath: "/usr/share/zoneinfo/Europe/Paris", toPath: dir + "/paris-copy")
        try FileManager.default.copyItem(atPath: "/usr/share/zoneinfo/Etc/UTC", toPath: dir + "/utc-copy")
        #expect(HostPlatform.hostTimeZone(localtime: dir + "/paris") == "Europe/Paris")
        #expect(HostPlatform.hostTimeZone(localtime: dir + "/utc") == nil)
        #expect(HostPlatform.hostTimeZone(localtime: dir + "/paris-copy") == "CET-1CEST,M3.5.0,M10.5.0/3")
        #expect(HostPlatform.hostTimeZone(localtime: dir + "/utc-copy") == nil)
        #expect(HostPlatform.hostTimeZone(localtime: dir + "/none") == nil)
        let note = HostPlatform.timeZoneNote(runtime: "process", setsTZ: false, localtime: dir + "/paris")
        #expect(
            note
                == "note: the process runtime's containers tell time in this host's time zone (Europe/Paris); on Fargate they use their image's, UTC for most images (set TZ in the task's environment to choose one)"
        )
        #expect(HostPlatform.timeZoneNote(runtime: "process", setsTZ: true, localtime: dir + "/paris") == nil)
        #expect(HostPlatform.timeZoneNote(runtime: "docker", setsTZ: false, localtime: dir + "/paris") == nil)
    }
}
