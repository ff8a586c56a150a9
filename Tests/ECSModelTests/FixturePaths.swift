import Foundation

/// Locates the repository's test fixtures from this source file.
enum FixturePaths {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures", isDirectory: true)
    static let repository: URL = root.deletingLastPathComponent().deletingLastPathComponent()

    static func validate(_ name: String) -> URL { root.appendingPathComponent("validate/\(name)") }
}
