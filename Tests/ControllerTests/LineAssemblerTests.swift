import ShimCore
import Testing

@testable import Controller

struct LineAssemblerTests {
    func feed(_ a: inout LineAssembler, _ s: String) -> [String] {
        Array(s.utf8).withUnsafeBytes { a.append($0) }
    }

    @Test func linesSpanningChunksAreJoined() {
        var a = LineAssembler()
        #expect(feed(&a, "one\ntw") == ["one"])
        #expect(feed(&a, "o\n\nthr") == ["two", ""])
        #expect(a.finish() == "three".prefix(3).description)
        #expect(a.finish() == nil)
    }

    @Test func overlongLinesAreSplitAtTheAwslogsLimit() {
        var a = LineAssembler()
        let long = String(repeating: "x", count: LineAssembler.maxLineBytes + 10) + "\n"
        let lines = feed(&a, long)
        #expect(lines.map(\.count) == [LineAssembler.maxLineBytes, 10])
    }

    @Test func invalidUTF8DoesNotStopTheStream() {
        var a = LineAssembler()
        let lines = [UInt8]([0x66, 0xFF, 0x0A, 0x67, 0x0A]).withUnsafeBytes { a.append($0) }
        #expect(lines.count == 2 && lines[1] == "g")
    }
}
