#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and atomic writes with the C library.
public enum FileBytes {
    /// The whole file at `path`; nil if it cannot be opened.
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { out += buffer[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
        }
        return out
    }

    /// Writes through a temporary file and a rename, so readers never see half of it.
    @discardableResult
    public static func writeAtomically(_ bytes: [UInt8], to path: String) -> Bool {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        let ok = writeAll(fd, bytes)
        close(fd)
        return ok && rename(tmp, path) == 0
    }

    /// Writes `text` as UTF-8, as `writeAtomically(_:to:)` writes bytes.
    @discardableResult
    public static func writeAtomically(_ text: String, to path: String) -> Bool { writeAtomically(Array(text.utf8), to: path) }

    /// Writes all of `bytes` to `fd`; false when it cannot (a full disk, a reader that has
    /// gone: EPIPE with SIGPIPE ignored). Waits while a non-blocking descriptor is full.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return true }  // nothing to write
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    guard errno == EAGAIN || errno == EWOULDBLOCK else { return false }
                    var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, 1000)
                    continue
                }
                offset += n
            }
            return true
        }
    }
}
