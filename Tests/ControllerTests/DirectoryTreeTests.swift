import Foundation
import ShimCore
import Testing

struct DirectoryTreeTests {
    @Test func makesParentsAndRemovesATreeWithoutFollowingLinks() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fl-tree-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let outside = root + "/outside"
        #expect(DirectoryTree.make(outside))
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside + "/keep.txt"))

        let tree = root + "/task/run/c"
        #expect(DirectoryTree.make(tree))
        #expect(DirectoryTree.make(tree), "an existing directory is fine")
        try Data("x".utf8).write(to: URL(fileURLWithPath: tree + "/spec"))
        try FileManager.default.createDirectory(atPath: root + "/task/scratch/a/b", withIntermediateDirectories: true)
        try Data("y".utf8).write(to: URL(fileURLWithPath: root + "/task/scratch/a/b/f"))
        try FileManager.default.createSymbolicLink(atPath: root + "/task/scratch/link", withDestinationPath: outside)

        #expect(DirectoryTree.remove(root + "/task"))
        #expect(!FileManager.default.fileExists(atPath: root + "/task"))
        #expect(FileManager.default.fileExists(atPath: outside + "/keep.txt"), "a link's target must survive")
        #expect(DirectoryTree.remove(root + "/task"), "removing what is gone succeeds")
        #expect(!DirectoryTree.make(outside + "/keep.txt/sub"), "a file in the way is a failure")
    }
}
