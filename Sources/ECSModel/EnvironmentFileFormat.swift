import Foundation

/// The format of ECS environment files (`environmentFiles`, and `run --env-file`): one
/// `NAME=VALUE` per line, the value taken as it is; blank lines and lines starting with
/// `#` are ignored.
public enum EnvironmentFileFormat {
    /// The variables of `text`, in order, and the 1-based numbers of the lines that are
    /// neither a variable nor a comment or blank (no `=`, or nothing before it).
    public static func parse(_ text: String) -> (variables: [(name: String, value: String)], invalidLines: [Int]) {
        var variables: [(name: String, value: String)] = []
        var invalid: [Int] = []
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                invalid.append(i + 1)
                continue
            }
            variables.append((String(line[..<eq]), String(line[line.index(after: eq)...])))
        }
        return (variables, invalid)
    }
}
