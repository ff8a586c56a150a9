/// Checks a fragment of a request against an ECS model shape (e.g. RunTask's
/// `overrides` against `TaskOverride`), normalising it as task definitions are.
public enum ShapeCheck {
    /// The normalised value and the error messages (each starting with its JSON path).
    public static func check(_ value: JSONValue, shape: String, path: String) -> (value: JSONValue, errors: [String]) {
        var normalizer = ShapeNormalizer()
        let normalized = normalizer.normalize(value, as: shape, at: JSONPath(path)) ?? .object([])
        let errors = normalizer.diagnostics.errors.map { $0.path.isEmpty ? $0.message : "\($0.path): \($0.message)" }
        return (normalized, errors)
    }
}
