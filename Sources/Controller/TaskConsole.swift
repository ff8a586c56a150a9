/// Where a supervised task reports as it runs: container output and lifecycle
/// events. `run --wait` prints them; a server would publish them.
public protocol TaskConsole: Sendable {
    /// Lines a container wrote.
    func output(container: String, lines: [String]) async
    /// A lifecycle event worth showing a user ("container app exited with code 0").
    func event(_ message: String) async
}

/// Sends a container's output to its log stream and, when there is one, the console.
struct ContainerLogSink: ContainerOutputSink {
    let container: String
    let writer: LogStreamWriter
    let console: (any TaskConsole)?
    /// False when the runtime writes the stream itself (only the console gets the lines).
    var writesStream = true

    func receive(_ batch: OutputBatch) async {
        if writesStream, let error = await writer.append(timestamps: batch.timestamps, messages: batch.lines) {
            // Said once per stream until it can be written again; the task goes on.
            if await writer.noteFailure() {
                await console?.event(
                    "warning: container \(container)'s log stream cannot be written (\(error.localizedDescription)); its lines are lost until it can")
            }
        } else if writesStream {
            await writer.noteSuccess()
        }
        await console?.output(container: container, lines: batch.lines)
    }
}
