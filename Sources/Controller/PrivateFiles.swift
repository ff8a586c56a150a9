import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The state directory holds what only its owner may read: task overrides (environment
/// values), each task's credentials token (which the credentials endpoint trades for AWS
/// credentials) and containers' logs. What fargate-local makes there is made private
/// (directories 0700, files 0600), and its own files left readable by an older version
/// are made private when opened.
enum PrivateFiles {
    /// Makes `directory` (and missing parents) when missing: the ones made are 0700.
    static func makeDirectory(_ directory: URL) throws {
        var missing: [URL] = []
        var url = directory.standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" {
            missing.append(url)
            url = url.deletingLastPathComponent()
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for made in missing { chmod(made.path, 0o700) }
    }

    /// Creates `path` as 0600 when missing; takes group and other access away from it when
    /// it exists and is this user's.
    static func makeFile(_ path: String) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        restrict(path, to: 0o600)
    }

    /// Takes group and other access away from `path` when it is this user's.
    static func restrict(_ path: String, to mode: mode_t) {
        var info = stat()
        guard stat(path, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o077 != 0 else { return }
        chmod(path, mode)
    }
}
