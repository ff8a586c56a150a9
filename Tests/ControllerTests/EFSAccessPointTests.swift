import Controller
import ECSModel
import Foundation
import Testing

/// EFS volumes as host folders: the root directory, or the access point's own folder.
struct EFSAccessPointTests {
    func volume(_ json: String) throws -> Volume {
        try JSONDecoder().decode(Volume.self, from: Data(json.utf8))
    }

    @Test func anAccessPointHasAFolderOfItsOwn() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("efs-ap-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        let volumes = TaskVolumes(stateDirectory: state, taskID: "0123456789abcdef0123456789abcdef")
        let folders = try volumes.prepare([
            try volume(
                #"{"name": "ap", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/", "transitEncryption": "ENABLED", "authorizationConfig": {"accessPointId": "fsap-2"}}}"#
            ),
            try volume(#"{"name": "root", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/exports/a"}}"#),
        ])
        #expect(folders["ap"] == state.appendingPathComponent("efs/fs-1/fsap-2").path)
        #expect(folders["root"] == state.appendingPathComponent("efs/fs-1/exports/a").path)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: folders["ap"] ?? "", isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(throws: ContainerStartError.self) {
            try volumes.prepare([
                try volume(#"{"name": "bad", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "authorizationConfig": {"accessPointId": "../fs-9"}}}"#)
            ])
        }
    }
}
