/// ECS's task lifecycle. `lastStatus` only moves forward; a task that fails at
/// any point still ends in STOPPED.
public enum TaskStatus: String, Codable, Sendable, CaseIterable, Comparable {
    case provisioning = "PROVISIONING"
    case pending = "PENDING"
    case activating = "ACTIVATING"
    case running = "RUNNING"
    case deactivating = "DEACTIVATING"
    case stopping = "STOPPING"
    case deprovisioning = "DEPROVISIONING"
    case stopped = "STOPPED"

    private var order: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (a: TaskStatus, b: TaskStatus) -> Bool { a.order < b.order }

    /// The status after a move to `next`, or an error for a move backwards or in place.
    public func transition(to next: TaskStatus) throws(LifecycleError) -> TaskStatus {
        guard next > self else { throw LifecycleError(from: rawValue, to: next.rawValue) }
        return next
    }
}

/// A container's status as ECS reports it.
public enum ContainerStatus: String, Codable, Sendable, Comparable {
    case pending = "PENDING"
    case running = "RUNNING"
    case stopped = "STOPPED"

    private var order: Int { [.pending, .running, .stopped].firstIndex(of: self) ?? 0 }
    public static func < (a: ContainerStatus, b: ContainerStatus) -> Bool { a.order < b.order }

    /// The status after a move to `next`, or an error for a move backwards or in place.
    public func transition(to next: ContainerStatus) throws(LifecycleError) -> ContainerStatus {
        guard next > self else { throw LifecycleError(from: rawValue, to: next.rawValue) }
        return next
    }
}

/// Why a task stopped (`stopCode`).
public enum StopCode: String, Codable, Sendable {
    case taskFailedToStart = "TaskFailedToStart"
    case essentialContainerExited = "EssentialContainerExited"
    case userInitiated = "UserInitiated"
    case serviceSchedulerInitiated = "ServiceSchedulerInitiated"
    case spotInterruption = "SpotInterruption"
    case terminationNotice = "TerminationNotice"
}

/// A health status of a container or task.
public enum HealthStatus: String, Codable, Sendable {
    case healthy = "HEALTHY"
    case unhealthy = "UNHEALTHY"
    case unknown = "UNKNOWN"
}

/// An illegal lifecycle move, such as RUNNING back to PENDING.
public struct LifecycleError: Error, CustomStringConvertible, Sendable {
    public let from: String
    public let to: String
    public var description: String { "illegal status transition \(from) -> \(to): statuses only move forward" }
}
