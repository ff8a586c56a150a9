/// Errors of the controller, each with a message a user can act on.
public struct ControllerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; the API issue maps these onto ECS exception names.
    public enum Code: String, Sendable {
        case invalidInput
        case notFound
        case ambiguous
        case state
        case io
        /// The task needs a platform this host cannot give it (Windows containers).
        case unsupportedPlatform
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
