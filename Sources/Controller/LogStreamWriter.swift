import Foundation

/// Appends events to one stream file. Owned by one container's supervisor.
public actor LogStreamWriter {
    private let handle: FileHandle
    private let groupingFile: URL?

    init(url: URL, groupingFile: URL? = nil) throws {
        guard let h = FileHandle(forWritingAtPath: url.path) else {
            throw ControllerError(.io, "cannot open log stream file \(url.path) for writing")
        }
        h.seekToEndOfFile()
        handle = h
        self.groupingFile = groupingFile
    }

    /// Appends events in order. Returns the error that kept them out of the stream (its
    /// disk is full, say): those lines are lost, and the stream goes on with the next ones.
    @discardableResult
    public func append(timestamps: [Int64], messages: [String]) -> (any Error)? {
        var chunk = ""
        for (ts, message) in zip(timestamps, messages) {
            chunk += String(ts)
            chunk += "\t"
            chunk += message.contains("\n") ? message.replacingOccurrences(of: "\n", with: " ") : message
            chunk += "\n"
        }
        do {
            try handle.write(contentsOf: Data(chunk.utf8))
            return nil
        } catch {
            return error
        }
    }

    private var failing = false

    /// Records that an append failed; true the first time since the stream was last
    /// written, when the failure is worth saying.
    func noteFailure() -> Bool {
        defer { failing = true }
        return !failing
    }

    /// Records that an append succeeded.
    func noteSuccess() {
        failing = false
    }

    /// Closes the file. Not fsynced (a container's exit waited for it): what was written is
    /// in the page cache every reader sees, and survives any process's crash, as the state
    /// database's commits do (synchronous = NORMAL); not a power loss.
    public func close() {
        try? handle.close()
        // The stream's last multi-line event is complete.
        if let groupingFile, var grouping = LogEventGrouping.read(from: groupingFile), !grouping.closed {
            grouping.closed = true
            try? grouping.write(to: groupingFile)
        }
    }
}
