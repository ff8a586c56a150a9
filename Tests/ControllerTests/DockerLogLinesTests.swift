import Foundation
import Testing

@testable import Controller

/// The engine's log messages (`timestamps=1`) into lines with the engine's times, and the
/// resume point a re-adopting controller goes on from.
struct DockerLogLinesTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-27T17:51:26.514123456Z", Int64(1_795_801_886_514)),
        ("2026-11-27T17:51:26.5Z", Int64(1_795_801_886_500)),
        ("2026-11-27T17:51:26.05Z", Int64(1_795_801_886_050)),
        ("2026-11-27T18:51:26.514+01:00", Int64(1_795_801_886_514)),
        ("2024-02-29T23:59:59.999Z", Int64(1_709_251_199_999)),
    ])
    func parsesDockersTimes(text: String, milliseconds: Int64) {
        #expect(DockerLogTimestamp.milliseconds(Array(text.utf8)) == milliseconds)
        let reference = ISO8601DateFormatter().date(from: text.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression))
        #expect(reference.map { Int64($0.timeIntervalSince1970) } == milliseconds / 1000)
    }

    @Test(arguments: ["", "2026-11-27 17:51:26Z", "2026-11-27T17:51:26", "2026-11-27T17:51:26.Z", "2026-13-27T17:51:26Z", "tick 1"])
    func refusesWhatIsNotATime(text: String) {
        #expect(DockerLogTimestamp.milliseconds(Array(text.utf8)) == nil)
    }

    func frame(_ text: String) -> [UInt8] { Array(text.utf8) }

    func lines(_ reader: inout DockerLogLines, _ source: OutputBatch.Source, _ text: String) -> [(Int64, String)] {
        frame(text).withUnsafeBytes { reader.consume(source, $0, now: 42) }.flatMap { b in zip(b.timestamps, b.lines).map { ($0, $1) } }
    }

    @Test func eachLineHasTheTimeOfTheMessageItBeganIn() {
        var reader = DockerLogLines(tty: false, resumeAt: nil)
        #expect(lines(&reader, .stdout, "1970-01-01T00:00:01.000Z one\n").map(\.0) == [1000])
        // Docker cuts a long line into messages: the line has its first part's time.
        #expect(lines(&reader, .stderr, "1970-01-01T00:00:02Z first half ").isEmpty)
        let joined = lines(&reader, .stderr, "1970-01-01T00:00:03Z second half\n")
        #expect(joined.map(\.0) == [2000] && joined.map(\.1) == ["first half second half"])
        // A frame without a time (an engine that ignored timestamps=1) gets the time it is read.
        #expect(lines(&reader, .stdout, "no time here\n").map(\.0) == [42])
    }

    @Test func linesAlreadyStoredAtTheResumeMillisecondAreSkipped() {
        // Stored: a@5, b@5 (two lines of millisecond 5). The engine gives everything from 5 on.
        var reader = DockerLogLines(tty: false, resumeAt: LogResumePoint(milliseconds: 5, linesAtThatMillisecond: 2))
        var got: [String] = []
        for (source, text) in [
            (OutputBatch.Source.stdout, "1970-01-01T00:00:00.005Z a\n"), (.stderr, "1970-01-01T00:00:00.005Z b\n"),
            (.stdout, "1970-01-01T00:00:00.005Z c\n"), (.stdout, "1970-01-01T00:00:00.006Z d\n"),
        ] {
            got += lines(&reader, source, text).map(\.1)
        }
        #expect(got == ["c", "d"])
        // Past the resume millisecond nothing is skipped, even lines of that millisecond.
        var early = DockerLogLines(tty: false, resumeAt: LogResumePoint(milliseconds: 5, linesAtThatMillisecond: 3))
        #expect(lines(&early, .stdout, "1970-01-01T00:00:00.006Z d\n").map(\.1) == ["d"])
    }

    @Test func aResumePointCountsTheLinesOfTheLastMillisecond() {
        let stored = [LogEvent(timestamp: 4, message: "x"), LogEvent(timestamp: 5, message: "a"), LogEvent(timestamp: 5, message: "b")]
        #expect(LogResumePoint(lines: stored) == LogResumePoint(milliseconds: 5, linesAtThatMillisecond: 2))
        #expect(LogResumePoint(lines: []) == nil)
    }

    @Test func framesAreGivenWholeWhateverTheChunks() {
        var frames: [String] = []
        var demuxer = LogDemuxer { _, bytes in frames.append(String(decoding: bytes, as: UTF8.self)) }
        let payload = Array("2026-11-27T17:51:26Z hello\n".utf8)
        let stream = [1, 0, 0, 0, 0, 0, 0, UInt8(payload.count)] + payload + [2, 0, 0, 0, 0, 0, 0, 3] + Array("hi\n".utf8)
        for chunk in stride(from: 0, to: stream.count, by: 5).map({ Array(stream[$0..<min($0 + 5, stream.count)]) }) {
            chunk.withUnsafeBytes { demuxer.feed($0) }
        }
        #expect(frames == ["2026-11-27T17:51:26Z hello\n", "hi\n"])
    }
}
