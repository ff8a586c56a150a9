/// Turns S3 keys into safe zip entry names: relative, no `.`/`..` segments, no NULs
/// or control characters, no characters Windows cannot create, no duplicates
/// (case-insensitively, and no file named like another entry's folder).
/// A key such as `../../etc/passwd` becomes `etc/passwd` and cannot escape on extraction.
public enum EntryNames {
    /// One safe name per key, in the keys' order.
    public static func make(for keys: [String]) -> [String] {
        var used = Set<String>()
        var directories = Set<String>()
        let bases = keys.map(sanitize)
        for name in bases {
            let parts = name.split(separator: "/")
            for i in 1..<max(parts.count, 1) { directories.insert(parts[0..<i].joined(separator: "/").lowercased()) }
        }
        var out: [String] = []
        for base in bases {
            var candidate = base
            var n = 2
            while used.contains(candidate.lowercased()) || directories.contains(candidate.lowercased()) {
                candidate = numbered(base, n)
                n += 1
            }
            used.insert(candidate.lowercased())
            out.append(candidate)
        }
        return out
    }

    /// The safe form of one key (without de-duplication).
    public static func sanitize(_ key: String) -> String {
        var segments: [String] = []
        for raw in key.split(whereSeparator: { $0 == "/" || $0 == "\\" }) {
            var segment = ""
            for scalar in raw.unicodeScalars {
                switch scalar.value {
                case 0..<0x20, 0x7F, 0x80..<0xA0: continue
                default: break
                }
                switch scalar {
                case ":", "*", "?", "\"", "<", ">", "|": segment += "_"
                default: segment.unicodeScalars.append(scalar)
                }
            }
            // Windows drops trailing dots and spaces; "..." would become "..".
            while let last = segment.last, last == "." || last == " " { segment.removeLast() }
            while let first = segment.first, first == " " { segment.removeFirst() }
            if segment.isEmpty { continue }
            segments.append(truncate(segment, maxBytes: 255))
        }
        let name = segments.joined(separator: "/")
        return name.isEmpty ? "file" : name
    }

    static func numbered(_ name: String, _ n: Int) -> String {
        let slash = name.lastIndex(of: "/")
        let fileStart = slash.map { name.index(after: $0) } ?? name.startIndex
        let file = name[fileStart...]
        if let dot = file.lastIndex(of: "."), dot != file.startIndex {
            return String(name[..<dot]) + " (\(n))" + String(name[dot...])
        }
        return name + " (\(n))"
    }

    static func truncate(_ s: String, maxBytes: Int) -> String {
        guard s.utf8.count > maxBytes else { return s }
        var out = ""
        for ch in s {
            if out.utf8.count + String(ch).utf8.count > maxBytes { break }
            out.append(ch)
        }
        return out
    }
}
