import Foundation

/// RunTask's `overrides` as a request or a command line gives them: checked against ECS's
/// `TaskOverride` shape, then against the task definition they apply to, in ECS's words.
/// The API and `fargate-local run --overrides` use the same rules.
public enum TaskOverrideRules {
    /// Why ECS refuses a task's overrides: the exception it names and its message.
    public enum Refusal: Error, Sendable, Equatable {
        /// `InvalidParameterException`.
        case invalidParameter(String)
        /// `ClientException`.
        case client(String)

        /// ECS's message.
        public var message: String {
            switch self {
            case let .invalidParameter(m), let .client(m): m
            }
        }
    }

    /// `value` (at `path`, e.g. `overrides`) decoded as a TaskOverride once it has the shape
    /// ECS's model gives it; the first shape error (it starts with its JSON path) otherwise.
    public static func decode(_ value: JSONValue, path: String = "overrides") throws(Refusal) -> TaskOverride {
        let checked = ShapeCheck.check(value, shape: "TaskOverride", path: path)
        if let first = checked.errors.first { throw .invalidParameter(first) }
        do {
            return try JSONDecoder().decode(TaskOverride.self, from: Data(checked.value.serialized().utf8))
        } catch {
            throw .invalidParameter("\(path) is invalid: \(error)")
        }
    }

    /// The first of ECS's rules that `overrides` breaks for a task of `definition`; nil when
    /// they break none. Container overrides must name the definition's containers, and a
    /// task-level cpu or memory override must still make a Fargate size.
    public static func refusal(of overrides: TaskOverride, for definition: TaskDefinition) -> Refusal? {
        for (i, o) in (overrides.containerOverrides ?? []).enumerated() {
            guard let name = o.name, definition.containerDefinitions.contains(where: { $0.name == name }) else {
                return .invalidParameter(
                    "Override for container named \(o.name ?? "") is not a container in the TaskDefinition. (overrides.containerOverrides[\(i)].name)")
            }
        }
        guard overrides.cpu != nil || overrides.memory != nil else { return nil }
        let cpu = (overrides.cpu ?? definition.cpu).flatMap(ResourceSize.cpuUnits)
        let memory = (overrides.memory ?? definition.memory).flatMap(ResourceSize.memoryMiB)
        if let cpu, let memory, let choices = ResourceSize.fargateMemoryChoices(forCPU: cpu), !choices.contains(memory) {
            return .client("No Fargate configuration exists for given values: \(cpu) CPU, \(memory) memory.")
        } else if let cpu, ResourceSize.fargateMemoryChoices(forCPU: cpu) == nil {
            return .client("Invalid 'cpu' setting for task.")
        }
        return nil
    }
}
