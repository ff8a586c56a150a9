import Testing
import ZipTask

struct EntryNamesTests {
    @Test(arguments: [
        ("../../etc/passwd", "etc/passwd"),
        ("/absolute/path.txt", "absolute/path.txt"),
        ("a/./b/../c.txt", "a/b/c.txt"),
        ("..\\..\\windows\\system32", "windows/system32"),
        ("evil\u{0}name\u{7}.txt", "evilname.txt"),
        ("line\nbreak.txt", "linebreak.txt"),
        ("what?.txt", "what_.txt"),
        ("C:\\boot.ini", "C_/boot.ini"),
        ("....", "file"),
        ("", "file"),
        ("//", "file"),
        ("dir/", "dir"),
        ("ünïcödé/файл.txt", "ünïcödé/файл.txt"),
        ("trailing. ", "trailing"),
    ])
    func sanitizes(key: String, expected: String) {
        #expect(EntryNames.sanitize(key) == expected)
    }

    @Test func neverEscapesTheExtractionDirectory() {
        let hostile = ["../x", "../../../../tmp/evil", "/etc/shadow", "a/../../b", "..", ".", "./.././", "\\..\\..\\x", "a\u{0}/../../y"]
        for name in EntryNames.make(for: hostile) {
            #expect(!name.hasPrefix("/"))
            #expect(!name.split(separator: "/").contains { $0 == ".." || $0 == "." || $0.isEmpty })
            #expect(!name.contains("\\") && !name.contains("\u{0}"))
        }
    }

    @Test func duplicatesAreDisambiguated() {
        let names = EntryNames.make(for: ["a/report.csv", "../a/report.csv", "A/REPORT.CSV", "a/report.csv", "noext", "/noext"])
        #expect(names == ["a/report.csv", "a/report (2).csv", "A/REPORT (3).CSV", "a/report (4).csv", "noext", "noext (2)"])
        #expect(Set(names.map { $0.lowercased() }).count == names.count)
    }

    @Test func aFileCannotShadowAFolder() {
        let names = EntryNames.make(for: ["docs", "docs/readme.md"])
        #expect(names == ["docs (2)", "docs/readme.md"])
    }
}
