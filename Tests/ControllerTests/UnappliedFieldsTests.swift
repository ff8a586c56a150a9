import ECSModel
import Foundation
import Testing

@testable import Controller

/// What the process runtime says it will not do, so a task that passes there is not taken
/// for one that did all its definition asks.
struct UnappliedFieldsTests {
    func container(_ json: String) throws -> ContainerDefinition {
        try JSONDecoder().decode(ContainerDefinition.self, from: Data(json.utf8))
    }

    @Test func theProcessRuntimeNamesWhatItIgnores() throws {
        let c = try container(
            #"{"name": "c", "image": "i", "user": "1000", "readonlyRootFilesystem": true, "memory": 64,"#
                + #" "ulimits": [{"name": "nofile", "softLimit": 1, "hardLimit": 2}], "linuxParameters": {"initProcessEnabled": true},"#
                + #" "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}], "pseudoTerminal": true}"#)
        let said = TaskSupervisor.unappliedFields(of: c, runtime: "process")
        #expect(said.count == 3, "\(said)")
        #expect(said.contains { $0.hasPrefix("systemControls") })
        #expect(said.contains { $0.hasPrefix("pseudoTerminal") })
        #expect(
            said.contains(
                "user, readonlyRootFilesystem, its memory limits, linuxParameters.initProcessEnabled not applied in the process runtime (a host process); use --runtime docker for them"
            ))
        #expect(TaskSupervisor.unappliedFields(of: c, runtime: "docker").isEmpty)
        #expect(TaskSupervisor.unappliedFields(of: try container(#"{"name": "c", "image": "i", "command": ["true"]}"#), runtime: "process").isEmpty)
    }
}
