import ECSModel
import Foundation
import Testing

@testable import Controller

/// When ECS's container restart policy restarts a container that exited.
struct RestartPolicyRuleTests {
    func policy(_ json: String) throws -> ContainerRestartPolicy {
        try JSONDecoder().decode(ContainerRestartPolicy.self, from: Data(json.utf8))
    }

    @Test func restartsOnlyWhenEnabledNotIgnoredAndRunLongEnough() throws {
        let policy = try policy(#"{"enabled": true, "ignoredExitCodes": [0], "restartAttemptPeriod": 60}"#)
        #expect(TaskSupervisor.shouldRestart(policy, exitCode: 1, ranFor: .seconds(60)))
        #expect(!TaskSupervisor.shouldRestart(policy, exitCode: 1, ranFor: .seconds(59)))
        #expect(!TaskSupervisor.shouldRestart(policy, exitCode: 0, ranFor: .seconds(600)))
        #expect(!TaskSupervisor.shouldRestart(nil, exitCode: 1, ranFor: .seconds(600)))
        #expect(!TaskSupervisor.shouldRestart(try self.policy(#"{"enabled": false}"#), exitCode: 1, ranFor: .seconds(600)))
        // ECS's default period is 300 s.
        let byDefault = try self.policy(#"{"enabled": true}"#)
        #expect(!TaskSupervisor.shouldRestart(byDefault, exitCode: 137, ranFor: .seconds(299)))
        #expect(TaskSupervisor.shouldRestart(byDefault, exitCode: 137, ranFor: .seconds(300)))
    }
}
