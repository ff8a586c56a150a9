/// Reads a zip's central directory from the archive's tail, to check that what
/// libarchive wrote matches what was fed in: names, sizes and CRC-32s.
public struct CentralDirectory: Sendable {
    /// One file's central directory record.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var crc32: UInt32
        public var compressedSize: UInt64
        public var uncompressedSize: UInt64
        /// 0 stored, 8 deflated.
        public var method: UInt16
    }

    public var entries: [Entry]

    /// Parses the central directory; `tail` holds the archive's last bytes, starting at `tailOffset`.
    public static func parse(tail: [UInt8], tailOffset: Int64) throws(ZipTaskError) -> CentralDirectory {
        func u16(_ i: Int) -> UInt16 { UInt16(tail[i]) | UInt16(tail[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(tail[i + $1]) << (8 * $1) } }
        func u64(_ i: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(tail[i + $1]) << (8 * $1) } }
        func fail(_ why: String) -> ZipTaskError { ZipTaskError(.storage, "zip verification failed: \(why)") }

        guard tail.count >= 22 else { throw fail("the archive is too short") }
        var eocd = -1
        var i = tail.count - 22
        while i >= max(0, tail.count - 22 - 65535) {
            if u32(i) == 0x0605_4b50 {
                eocd = i
                break
            }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("no end of central directory record") }
        var count = UInt64(u16(eocd + 10))
        var cdOffset = UInt64(u32(eocd + 16))
        if count == 0xFFFF || cdOffset == 0xFFFF_FFFF {
            let locator = eocd - 20
            guard locator >= 0, u32(locator) == 0x0706_4b50 else { throw fail("no zip64 end of central directory locator") }
            let z64 = Int(Int64(u64(locator + 8)) - tailOffset)
            guard z64 >= 0, z64 + 56 <= tail.count, u32(z64) == 0x0606_4b50 else { throw fail("bad zip64 end of central directory record") }
            count = u64(z64 + 32)
            cdOffset = u64(z64 + 48)
        }
        var p = Int(Int64(cdOffset) - tailOffset)
        guard p >= 0 else { throw fail("the central directory is not in the kept tail") }
        var entries: [Entry] = []
        for _ in 0..<count {
            guard p + 46 <= tail.count, u32(p) == 0x0201_4b50 else { throw fail("bad central directory entry") }
            let method = u16(p + 10)
            let crc = u32(p + 16)
            var csize = UInt64(u32(p + 20))
            var usize = UInt64(u32(p + 24))
            let nameLength = Int(u16(p + 28))
            let extraLength = Int(u16(p + 30))
            let commentLength = Int(u16(p + 32))
            guard p + 46 + nameLength + extraLength + commentLength <= tail.count else { throw fail("truncated central directory entry") }
            let name = String(decoding: tail[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(e)
                let size = Int(u16(e + 2))
                if id == 0x0001 {
                    var q = e + 4
                    if usize == 0xFFFF_FFFF && q + 8 <= e + 4 + size {
                        usize = u64(q)
                        q += 8
                    }
                    if csize == 0xFFFF_FFFF && q + 8 <= e + 4 + size {
                        csize = u64(q)
                        q += 8
                    }
                }
                e += 4 + size
            }
            entries.append(Entry(name: name, crc32: crc, compressedSize: csize, uncompressedSize: usize, method: method))
            p += 46 + nameLength + extraLength + commentLength
        }
        return CentralDirectory(entries: entries)
    }
}
