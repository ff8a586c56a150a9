import CArchive
import Foundation

/// Writes a zip archive with libarchive's zip writer, streaming its bytes to a
/// closure (never a whole file in memory). Owns the `struct archive *` and frees it
/// in `deinit`. Zip64 records are added by libarchive when sizes need them.
public final class ZipArchiveWriter {
    /// Receives archive bytes in order; return false to fail the write.
    public typealias Sink = (UnsafeRawBufferPointer) -> Bool

    private let archive: OpaquePointer
    private let context: SinkBox
    private var open = false

    final class SinkBox {
        let sink: Sink
        var failed = false
        init(_ sink: @escaping Sink) { self.sink = sink }
    }

    /// `deflateLevel` applies to every deflated entry (libarchive fixes it before the archive opens).
    public init(deflateLevel: Int = 6, sink: @escaping Sink) throws(ZipTaskError) {
        guard let a = archive_write_new() else { throw ZipTaskError(.storage, "libarchive could not allocate a writer") }
        archive = a
        context = SinkBox(sink)
        try check(archive_write_set_format_zip(a), "selecting the zip format")
        try check(archive_write_set_format_option(a, "zip", "compression-level", String(max(1, min(9, deflateLevel)))), "setting the deflate level")
        // Hand every write straight to the sink; no padding after the last block.
        try check(archive_write_set_bytes_per_block(a, 0), "setting the block size")
        try check(archive_write_set_bytes_in_last_block(a, 1), "setting the last block size")
        let rc = archive_write_open2(a, Unmanaged.passUnretained(context).toOpaque(), nil, zipWriteCallback, nil, nil)
        try check(rc, "opening the archive")
        open = true
    }

    deinit {
        archive_write_free(archive)
    }

    private func check(_ rc: Int32, _ what: String) throws(ZipTaskError) {
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN else {
            let detail = archive_error_string(archive).map { String(cString: $0) } ?? "error \(rc)"
            throw ZipTaskError(context.failed ? .aws : .storage, "zip: \(what) failed: \(detail)")
        }
    }

    /// Starts an entry; `write` its bytes next, then `finishEntry`.
    public func beginEntry(name: String, size: Int64, modified: Date?, compression: CompressionChoice) throws(ZipTaskError) {
        // Format options are frozen once the archive is open; these two calls are not.
        switch compression {
        case .store:
            try check(archive_write_zip_set_compression_store(archive), "choosing store")
        case .deflate:
            try check(archive_write_zip_set_compression_deflate(archive), "choosing deflate")
        }
        guard let entry = archive_entry_new() else { throw ZipTaskError(.storage, "libarchive could not allocate an entry") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, name)
        archive_entry_set_size(entry, size)
        archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG, a macro Swift does not import
        archive_entry_set_perm(entry, 0o644)
        let mtime = modified ?? Date()
        archive_entry_set_mtime(entry, time_t(mtime.timeIntervalSince1970), 0)
        try check(archive_write_header(archive, entry), "writing the header of \(name)")
    }

    /// Appends entry data.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(ZipTaskError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(archive, base + offset, bytes.count - offset)
            if n < 0 {
                try check(Int32(n), "writing entry data")
                return
            }
            if n == 0 { throw ZipTaskError(.storage, "zip: libarchive accepted no data") }
            offset += n
        }
    }

    /// Ends the entry begun last, once all of its data is written.
    public func finishEntry() throws(ZipTaskError) {
        try check(archive_write_finish_entry(archive), "finishing an entry")
    }

    /// Writes the central directory and end records.
    public func close() throws(ZipTaskError) {
        guard open else { return }
        open = false
        try check(archive_write_close(archive), "writing the central directory")
    }
}

private func zipWriteCallback(_ a: OpaquePointer?, _ ctx: UnsafeMutableRawPointer?, _ buffer: UnsafeRawPointer?, _ length: Int) -> Int {
    guard let ctx, let buffer else { return -1 }
    let box = Unmanaged<ZipArchiveWriter.SinkBox>.fromOpaque(ctx).takeUnretainedValue()
    if box.sink(UnsafeRawBufferPointer(start: buffer, count: length)) { return length }
    box.failed = true
    return -1
}
