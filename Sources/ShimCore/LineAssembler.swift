/// Splits a byte stream into lines; a line longer than `maxLineBytes` (CloudWatch's event
/// limit) is cut there.
public struct LineAssembler: Sendable {
    public static let maxLineBytes = 256 * 1024
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
