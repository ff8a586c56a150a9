import ECSModel
import Foundation
import ShimCore
import Testing

@testable import Controller

/// A process-runtime container's ulimits travel in its shim's spec, and it gets Fargate's
/// nofile (65535) when it sets none, hard limits no higher than this host's.
struct ResourceLimitTests {
    @Test func theSpecCarriesTheLimitsAndOlderSpecsStillRead() throws {
        let spec = ShimSpec(
            executable: "/bin/true", arguments: ["a", "b"], workingDirectory: "/tmp", logFile: "/l.log",
            limits: [ResourceLimit(name: "nofile", soft: 1000, hard: 2000), ResourceLimit(name: "core", soft: 0, hard: 0)])
        #expect(ShimSpec(decoding: spec.encoded()) == spec)
        // Written by an older controller: no limits field.
        let fields: [String] = ["fargate-local-shim-spec-1", "/l.log", "", "/bin/echo", "hi"]
        let older: [UInt8] = fields.flatMap { Array($0.utf8) + [0] }
        #expect(ShimSpec(decoding: older) == ShimSpec(executable: "/bin/echo", arguments: ["hi"], workingDirectory: nil, logFile: "/l.log"))
    }

    @Test func fargatesNofileUnlessTheContainerSetsOneCappedAtTheHost() throws {
        let hostNofile = try #require(ResourceLimit.currentHard("nofile"))
        let none = ProcessLaunchPlan.resourceLimits(of: nil)
        #expect(none == [ResourceLimit(name: "nofile", soft: min(65535, hostNofile), hard: min(65535, hostNofile))])
        let definition = try JSONDecoder().decode(
            ContainerDefinition.self,
            from: Data(
                #"{"name": "c", "ulimits": [{"name": "nofile", "softLimit": 100, "hardLimit": 200}, {"name": "nproc", "softLimit": 9999999999, "hardLimit": 9999999999}, {"name": "bogus", "softLimit": 1, "hardLimit": 1}]}"#
                    .utf8))
        let hostNproc = try #require(ResourceLimit.currentHard("nproc"))
        #expect(
            ProcessLaunchPlan.resourceLimits(of: definition) == [
                ResourceLimit(name: "nofile", soft: 100, hard: 200),
                ResourceLimit(name: "nproc", soft: min(9_999_999_999, hostNproc), hard: min(9_999_999_999, hostNproc)),
            ])
    }
}
