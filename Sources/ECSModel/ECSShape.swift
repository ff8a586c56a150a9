/// A shape of botocore's ECS model: the type every field must have.
/// The table of shapes is generated (`Generated/ECSShapes.swift`).
public enum ECSShape: Sendable {
    case structure(members: [(String, String)], required: [String])
    case list(member: String)
    case map(key: String, value: String)
    case enumeration([String])
    case string
    case integer
    case double
    case boolean
    case timestamp
}
