import Foundation

/// One log event as CloudWatch Logs returns it.
public struct LogEvent: Sendable, Equatable, Codable {
    /// Milliseconds since the epoch.
    public var timestamp: Int64
    public var message: String
}

/// Where a container's log stream lives: the awslogs group and stream names.
public struct LogStreamName: Sendable, Hashable, Codable {
    public var group: String
    public var stream: String

    public init(group: String, stream: String) {
        self.group = group
        self.stream = stream
    }
}

/// Log streams on disk under the state directory: one file per stream, one line
/// per event (`<ms>\t<message>`), appended by a single writer so lines keep their order.
public struct LogStore: Sendable {
    public let root: URL

    public init(root: URL) throws {
        self.root = root
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    /// The file that holds a stream.
    public func fileURL(for name: LogStreamName) -> URL {
        root.appendingPathComponent(Self.encode(name.group), isDirectory: true)
            .appendingPathComponent(Self.encode(name.stream) + ".log")
    }

    /// Opens a stream for appending, creating it when new.
    public func openWriter(for name: LogStreamName) throws -> LogStreamWriter {
        let url = fileURL(for: name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ControllerError(.io, "cannot create log stream file \(url.path)")
            }
        }
        return try LogStreamWriter(url: url)
    }

    /// Every event of a stream, oldest first; empty when the stream does not exist.
    public func events(of name: LogStreamName) -> [LogEvent] {
        guard let data = FileManager.default.contents(atPath: fileURL(for: name).path) else { return [] }
        var events: [LogEvent] = []
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            guard let tab = line.firstIndex(of: 0x09),
                  let ts = Int64(String(decoding: line[line.startIndex..<tab], as: UTF8.self)) else { continue }
            events.append(LogEvent(timestamp: ts, message: String(decoding: line[(tab + 1)...], as: UTF8.self)))
        }
        return events
    }

    /// File names may not contain "/": percent-encode it (and "%" itself).
    static func encode(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "/": out += "%2F"
            case "%": out += "%25"
            case "\0": out += "%00"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out == "." || out == ".." ? out.replacingOccurrences(of: ".", with: "%2E") : out
    }
}

/// Appends events to one stream file. Owned by one container's supervisor.
public actor LogStreamWriter {
    private let handle: FileHandle

    init(url: URL) throws {
        guard let h = FileHandle(forWritingAtPath: url.path) else {
            throw ControllerError(.io, "cannot open log stream file \(url.path) for writing")
        }
        h.seekToEndOfFile()
        handle = h
    }

    /// Appends events in order.
    public func append(timestamps: [Int64], messages: [String]) {
        var chunk = ""
        for (ts, message) in zip(timestamps, messages) {
            chunk += String(ts)
            chunk += "\t"
            chunk += message.contains("\n") ? message.replacingOccurrences(of: "\n", with: " ") : message
            chunk += "\n"
        }
        handle.write(Data(chunk.utf8))
    }

    /// Flushes and closes the file.
    public func close() {
        try? handle.synchronize()
        try? handle.close()
    }
}
