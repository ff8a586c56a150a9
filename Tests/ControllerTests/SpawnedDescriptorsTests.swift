import Foundation
import Testing

@testable import Controller

/// Processes the controller starts (shims, supervisors, iptables) inherit none of its other
/// descriptors: SwiftNIO's listening sockets are not close-on-exec, and a child holding one
/// would keep the API's port bound after the controller exits.
struct SpawnedDescriptorsTests {
    /// An inheritable descriptor, as SwiftNIO's sockets are.
    private func inheritableSocket() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 3)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC == 0)
        return fd
    }

    private func descriptors(in listing: String) -> [Int] {
        listing.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }.sorted()
    }

    @Test func aDetachedProcessGetsOnlyItsStandardStreamsAndThePassedDescriptor() throws {
        let socket = inheritableSocket()
        defer { close(socket) }
        var pipeFDs: [Int32] = [-1, -1]
        #expect(pipe(&pipeFDs) == 0)
        defer { close(pipeFDs[0]) }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fl-fds-\(UUID().uuidString)").path
        defer { unlink(log) }
        // ls lists the shell's descriptors (its own would include the directory it reads).
        let pid = try DetachedProcess.spawn("/bin/sh", ["-c", "ls /proc/$$/fd"], environment: [], log: log, passing: pipeFDs[1])
        close(pipeFDs[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let listing = try String(contentsOfFile: log, encoding: .utf8)
        #expect(descriptors(in: listing) == [0, 1, 2, 3], "\(listing)")
    }

    @Test func aHostCommandGetsOnlyItsStandardStreams() {
        let socket = inheritableSocket()
        defer { close(socket) }
        let outcome = HostCommand.runBlocking("/bin/sh", ["-c", "ls /proc/$$/fd"])
        #expect(outcome.status == 0)
        #expect(descriptors(in: outcome.output) == [0, 1, 2], "\(outcome.output)")
    }
}
