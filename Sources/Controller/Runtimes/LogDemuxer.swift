import Foundation

/// Splits Docker's multiplexed stream: frames of [stream, 0, 0, 0, size (big-endian u32)] +
/// payload. Each frame is given whole (one log message: with `timestamps=1`, its time first).
struct LogDemuxer {
    let onFrame: (OutputBatch.Source, UnsafeRawBufferPointer) -> Void
    private var header: [UInt8] = []
    private var payload: [UInt8] = []
    private var remaining = 0
    private var source = OutputBatch.Source.stdout

    init(onFrame: @escaping (OutputBatch.Source, UnsafeRawBufferPointer) -> Void) { self.onFrame = onFrame }

    mutating func feed(_ data: UnsafeRawBufferPointer) {
        var i = 0
        while i < data.count {
            if remaining == 0 {
                header.append(data[i])
                i += 1
                if header.count == 8 {
                    source = header[0] == 2 ? .stderr : .stdout
                    remaining = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
                    header.removeAll(keepingCapacity: true)
                }
                continue
            }
            let n = min(remaining, data.count - i)
            remaining -= n
            if remaining == 0 && payload.isEmpty {
                // The whole frame is in this chunk: given in place.
                onFrame(source, UnsafeRawBufferPointer(rebasing: data[i..<i + n]))
            } else {
                payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[i..<i + n]))
                if remaining == 0 {
                    payload.withUnsafeBytes { onFrame(source, $0) }
                    payload.removeAll(keepingCapacity: true)
                }
            }
            i += n
        }
    }
}
