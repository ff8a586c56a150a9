/// A failure of the zip task. The kind decides the exit code; the message is a
/// sentence a user can act on, written to the request item as `error`.
public struct ZipTaskError: Error, CustomStringConvertible, Sendable {
    /// What failed; its raw value is the task's exit code.
    public enum Kind: Int32, Sendable {
        /// Missing item, too many files, missing source object, invalid environment.
        case badRequest = 2
        /// Not enough space on WORK_DIR.
        case storage = 3
        /// An AWS call failed after retries.
        case aws = 4
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
    public var exitCode: Int32 { kind.rawValue }
}
