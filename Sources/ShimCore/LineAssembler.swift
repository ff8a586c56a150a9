/// Splits a byte stream into lines; a line longer than `maxLineBytes` is cut there, as
/// Fargate's awslogs logger reads a container's output in buffers of that size (a character
/// cut in two becomes U+FFFD, as CloudWatch stores it).
public struct LineAssembler: Sendable {
    /// The awslogs driver's largest event: CloudWatch's 256 KiB, less the 26 bytes it counts
    /// for each event.
    public static let maxLineBytes = 262_144 - 26
    private var pending: [UInt8] = []

    public init() {}

    /// The lines completed by `bytes`; a partial last line is kept for the next chunk.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == 0x0A {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count >= Self.maxLineBytes {
                    lines.append(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        return lines
    }

    /// The unterminated last line, if any.
    public mutating func finish() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}
