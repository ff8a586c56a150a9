import Testing

@testable import Controller

/// Host commands run with `posix_spawn`: their output is captured, `input` is their stdin,
/// and one that outlives its timeout is killed (a credential helper that hangs must not
/// hold a pull).
struct HostCommandTests {
    @Test func outputAndInput() {
        let echoed = HostCommand.runBlocking("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(echoed.status == 3 && echoed.output == "out\n")
        let fed = HostCommand.runBlocking("/bin/cat", [], input: "127.0.0.1:5000\n")
        #expect(fed.status == 0 && fed.output == "127.0.0.1:5000\n")
        let nothing = HostCommand.runBlocking("/bin/cat", [])
        #expect(nothing.status == 0 && nothing.output.isEmpty, "stdin is /dev/null without input")
    }

    @Test func aCommandPastItsTimeoutIsKilled() {
        let slept = HostCommand.runBlocking("/bin/sleep", ["30"], timeoutSeconds: 1)
        #expect(slept.status == 128 + 9, "killed by SIGKILL: \(slept.status)")
        let quick = HostCommand.runBlocking("/bin/true", [], timeoutSeconds: 1)
        #expect(quick.status == 0)
    }

    @Test func aMissingExecutableIsAFailure() {
        #expect(HostCommand.runBlocking("/nonexistent/docker-credential-x", ["get"], input: "x\n").status != 0)
    }
}
