import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Finds executables the way a shell does.
enum ExecutableLookup {
    static func find(_ name: String, path: String) -> String? {
        if name.contains("/") {
            return access(name, X_OK) == 0 && !isDirectory(name) ? name : nil
        }
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 && !isDirectory(candidate) { return candidate }
        }
        return nil
    }

    private static func isDirectory(_ p: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: p, isDirectory: &isDir) && isDir.boolValue
    }
}
