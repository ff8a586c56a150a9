/// Builds and parses the ARNs fargate-local hands out, in ECS's formats.
public struct ARNFactory: Sendable {
    public let region: String
    public let account: String

    public init(region: String, account: String = "000000000000") {
        self.region = region
        self.account = account
    }

    /// `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`
    public func cluster(_ name: String) -> String { "arn:aws:ecs:\(region):\(account):cluster/\(name)" }
    /// `arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/TASK_ID`
    public func task(cluster: String, id: String) -> String { "arn:aws:ecs:\(region):\(account):task/\(cluster)/\(id)" }
    /// `arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION`
    public func taskDefinition(family: String, revision: Int) -> String {
        "arn:aws:ecs:\(region):\(account):task-definition/\(family):\(revision)"
    }
    /// `arn:aws:ecs:REGION:ACCOUNT:container/CLUSTER/TASK_ID/UUID`
    public func container(cluster: String, taskID: String, containerID: String) -> String {
        "arn:aws:ecs:\(region):\(account):container/\(cluster)/\(taskID)/\(containerID)"
    }

    /// A fresh task id: 32 lowercase hex characters.
    public static func newTaskID() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(Int.random(in: 0..<16, using: &g), radix: 16) }.joined()
    }

    /// A fresh lowercase UUID string.
    public static func newUUID() -> String {
        var g = SystemRandomNumberGenerator()
        let hex = (0..<32).map { _ in String(Int.random(in: 0..<16, using: &g), radix: 16) }.joined()
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}
