import ECSModel
import Foundation
import ShimCore

/// Maps a task's volumes to host folders: EFS file systems are folders under the
/// state directory shared by every task (and kept), `host.sourcePath` is used as
/// given, and any other volume is per-task scratch space removed with the task.
public struct TaskVolumes: Sendable {
    public let stateDirectory: URL
    public let taskID: String

    public init(stateDirectory: URL, taskID: String) {
        self.stateDirectory = stateDirectory
        self.taskID = taskID
    }

    /// The per-task folder that holds scratch volumes.
    public var taskScratchRoot: URL {
        stateDirectory.appendingPathComponent("tasks/\(taskID)/volumes", isDirectory: true)
    }

    /// The host folder backing an EFS file system.
    public func efsRoot(_ fileSystemID: String) -> URL {
        stateDirectory.appendingPathComponent("efs/\(fileSystemID)", isDirectory: true)
    }

    /// Creates each volume's host folder; returns the folder by volume name.
    public func prepare(_ volumes: [Volume]) throws(ContainerStartError) -> [String: String] {
        var folders: [String: String] = [:]
        for volume in volumes {
            guard let name = volume.name else { continue }
            let folder: URL
            if let efs = volume.efsVolumeConfiguration {
                // An access point's own root directory is set on AWS, not in the task
                // definition: each access point gets a folder of its own in the file system.
                var url = efsRoot(efs.fileSystemId)
                if let ap = efs.authorizationConfig?.accessPointId, !ap.isEmpty {
                    guard !ap.contains("/"), ap != "..", ap != "." else {
                        throw ContainerStartError(
                            kind: "ResourceInitializationError", detail: "failed to mount EFS volume \(name): invalid accessPointId \(ap)")
                    }
                    url.appendPathComponent(ap, isDirectory: true)
                }
                let root = (efs.rootDirectory ?? "/").split(separator: "/").filter { $0 != "." && !$0.isEmpty }
                if root.contains("..") {
                    throw ContainerStartError(
                        kind: "ResourceInitializationError",
                        detail: "failed to mount EFS volume \(name): rootDirectory may not contain \"..\"")
                }
                for part in root { url.appendPathComponent(String(part), isDirectory: true) }
                folder = url
            } else if let source = volume.host?.sourcePath, !source.isEmpty {
                folder = URL(fileURLWithPath: source, isDirectory: true)
            } else if volume.dockerVolumeConfiguration?.scope == "shared" {
                folder = stateDirectory.appendingPathComponent("volumes/\(name)", isDirectory: true)
            } else {
                folder = taskScratchRoot.appendingPathComponent(name, isDirectory: true)
            }
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw ContainerStartError(
                    kind: "ResourceInitializationError",
                    detail: "failed to create the folder for volume \(name) at \(folder.path): \(error.localizedDescription)")
            }
            folders[name] = folder.path
        }
        return folders
    }

    /// The bind mounts of one container: its mountPoints plus those of the containers in its volumesFrom.
    public func mounts(for container: ContainerDefinition, in definition: TaskDefinition, folders: [String: String]) -> [BindMount] {
        var result: [BindMount] = []
        for mp in container.mountPoints ?? [] {
            guard let source = mp.sourceVolume, let host = folders[source], let path = mp.containerPath else { continue }
            result.append(BindMount(hostPath: host, containerPath: path, readOnly: mp.readOnly ?? false, scratchVolume: scratchName(source, host)))
        }
        for from in container.volumesFrom ?? [] {
            guard let source = definition.containerDefinitions.first(where: { $0.name == from.sourceContainer }) else { continue }
            for mp in source.mountPoints ?? [] {
                guard let sv = mp.sourceVolume, let host = folders[sv], let path = mp.containerPath,
                    !result.contains(where: { $0.containerPath == path })
                else { continue }
                result.append(
                    BindMount(
                        hostPath: host, containerPath: path, readOnly: (from.readOnly ?? false) || (mp.readOnly ?? false),
                        scratchVolume: scratchName(sv, host)))
            }
        }
        return result
    }

    /// The volume's name when its folder is the task's scratch space.
    func scratchName(_ volume: String, _ folder: String) -> String? {
        folder.hasPrefix(taskScratchRoot.path + "/") ? volume : nil
    }

    /// Removes the per-task scratch volumes (and the task's other files under `tasks/`).
    public func removeScratch() {
        DirectoryTree.remove(stateDirectory.appendingPathComponent("tasks/\(taskID)", isDirectory: true).path)
    }
}
