import ShimCore

/// Turns the frames of a container's log stream into lines, each with the time the engine
/// read it (a line cut across messages, as Docker cuts lines longer than 16 KiB, has the
/// time of its first part). Lines of `resumeAt`'s millisecond already stored are skipped.
/// A terminal's stream (`tty`) has no frames and no times: its lines get the time they
/// are read here.
struct DockerLogLines {
    let tty: Bool
    private var assemblers: [OutputBatch.Source: LineAssembler] = [.stdout: LineAssembler(), .stderr: LineAssembler()]
    /// The time of the message each stream's unfinished line began in.
    private var lineStart: [OutputBatch.Source: Int64] = [:]
    private let resumeMilliseconds: Int64?
    private var toSkip: Int

    init(tty: Bool, resumeAt: LogResumePoint?) {
        self.tty = tty
        resumeMilliseconds = resumeAt?.milliseconds
        toSkip = resumeAt?.linesAtThatMillisecond ?? 0
    }

    mutating func consume(_ source: OutputBatch.Source, _ frame: UnsafeRawBufferPointer, now: Int64 = LineSplitter.now()) -> [OutputBatch] {
        if tty {
            let lines = assemblers[source, default: LineAssembler()].append(frame).map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
            return batch(source, lines, Array(repeating: now, count: lines.count))
        }
        let (time, message) = DockerLogTimestamp.split(frame) ?? (now, frame)
        let start = lineStart[source] ?? time
        let lines = assemblers[source, default: LineAssembler()].append(message)
        var times = Array(repeating: time, count: lines.count)
        if !times.isEmpty { times[0] = start }
        if message.last == UInt8(ascii: "\n") {
            lineStart[source] = nil
        } else {
            lineStart[source] = lines.isEmpty ? start : time
        }
        return batch(source, lines, times)
    }

    /// What is left of each stream once it has ended.
    mutating func finish(now: Int64 = LineSplitter.now()) -> [OutputBatch] {
        var out: [OutputBatch] = []
        for source in [OutputBatch.Source.stdout, .stderr] {
            if let last = assemblers[source]?.finish() {
                out += batch(source, [tty && last.hasSuffix("\r") ? String(last.dropLast()) : last], [lineStart[source] ?? now])
            }
        }
        return out
    }

    private mutating func batch(_ source: OutputBatch.Source, _ lines: [String], _ times: [Int64]) -> [OutputBatch] {
        var lines = lines
        var times = times
        if toSkip > 0, let resume = resumeMilliseconds {
            var keptLines: [String] = []
            var keptTimes: [Int64] = []
            for (line, time) in zip(lines, times) {
                if toSkip > 0 && time == resume {
                    toSkip -= 1
                    continue
                }
                // Past the resume millisecond: nothing more of it can come.
                if time > resume { toSkip = 0 }
                keptLines.append(line)
                keptTimes.append(time)
            }
            (lines, times) = (keptLines, keptTimes)
        }
        guard !lines.isEmpty else { return [] }
        return [OutputBatch(source: source, timestamps: times, lines: lines)]
    }
}
