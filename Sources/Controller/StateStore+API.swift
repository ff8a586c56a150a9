import ECSModel
import Foundation
import GRDB

/// What the ECS API needs beyond running tasks: registered documents, listings,
/// deregistration, tags, clusters and RunTask's idempotency tokens.
extension StateStore {
    /// A registered revision with the exact document it was registered from.
    public struct RegisteredTaskDefinition: Sendable {
        public var definition: TaskDefinition
        public var document: JSONValue
        public var tags: [Tag]
        public var deregisteredAt: Date?
    }

    private static func reference(_ ref: String) -> (family: String, revision: Int?) {
        var r = ref
        if r.hasPrefix("arn:"), let slash = r.lastIndex(of: "/") { r = String(r[r.index(after: slash)...]) }
        let parts = r.split(separator: ":", maxSplits: 1).map(String.init)
        return (parts.first ?? "", parts.count == 2 ? Int(parts[1]) : nil)
    }

    /// Looks up `family`, `family:revision` or an ARN, with its document and tags.
    public func registeredTaskDefinition(_ ref: String) async throws -> RegisteredTaskDefinition? {
        let (family, revision) = Self.reference(ref)
        return try await readDB { db in
            let row: Row?
            if let revision {
                row = try Row.fetchOne(
                    db, sql: "SELECT * FROM task_definitions WHERE family = ? AND revision = ? AND status != 'DELETED'", arguments: [family, revision])
            } else {
                row = try Row.fetchOne(
                    db, sql: "SELECT * FROM task_definitions WHERE family = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1", arguments: [family])
            }
            guard let row else { return nil }
            return try Self.registered(row)
        }
    }

    private static func registered(_ row: Row) throws -> RegisteredTaskDefinition {
        var definition = try decode(TaskDefinition.self, row["definition"])
        definition.status = row["status"]
        let document = try JSONParser.parse(row["document"] as String)
        let tags = (try? decode([Tag].self, row["tags"] as String)) ?? []
        let deregistered = (row["deregistered_at"] as Double?).map { Date(timeIntervalSince1970: $0) }
        return RegisteredTaskDefinition(definition: definition, document: document, tags: tags, deregisteredAt: deregistered)
    }

    /// Task definition ARNs, oldest first unless `descending`.
    public func taskDefinitionArns(familyPrefix: String?, status: String, descending: Bool) async throws -> [String] {
        try await readDB { db in
            var sql = "SELECT arn FROM task_definitions WHERE status = ?"
            var args: [any DatabaseValueConvertible] = [status]
            if let familyPrefix, !familyPrefix.isEmpty {
                sql += " AND family LIKE ? ESCAPE '\\'"
                args.append(Self.likePrefix(familyPrefix))
            }
            sql += " ORDER BY family \(descending ? "DESC" : "ASC"), revision \(descending ? "DESC" : "ASC")"
            return try String.fetchAll(db, sql: sql, arguments: StatementArguments(args))
        }
    }

    /// Families with at least one revision in `status` (any status when nil).
    public func families(prefix: String?, status: String?) async throws -> [String] {
        try await readDB { db in
            var sql = "SELECT DISTINCT family FROM task_definitions WHERE status != 'DELETED'"
            var args: [any DatabaseValueConvertible] = []
            if let status {
                sql += " AND status = ?"
                args.append(status)
            }
            if let prefix, !prefix.isEmpty {
                sql += " AND family LIKE ? ESCAPE '\\'"
                args.append(Self.likePrefix(prefix))
            }
            sql += " ORDER BY family"
            return try String.fetchAll(db, sql: sql, arguments: StatementArguments(args))
        }
    }

    /// Marks a revision INACTIVE; returns it, or nil when it does not exist.
    public func deregisterTaskDefinition(_ ref: String) async throws -> RegisteredTaskDefinition? {
        let (family, revision) = Self.reference(ref)
        guard let revision else { return nil }
        return try await writeDB { db in
            try db.execute(
                sql:
                    "UPDATE task_definitions SET status = 'INACTIVE', deregistered_at = COALESCE(deregistered_at, ?) WHERE family = ? AND revision = ? AND status = 'ACTIVE'",
                arguments: [Date().timeIntervalSince1970, family, revision])
            return try Row.fetchOne(
                db, sql: "SELECT * FROM task_definitions WHERE family = ? AND revision = ? AND status != 'DELETED'", arguments: [family, revision]
            ).map(Self.registered)
        }
    }

    /// What DeleteTaskDefinitions did with one revision.
    public enum TaskDefinitionDeletion: Sendable {
        /// Now DELETE_IN_PROGRESS (deleted for good once no unstopped task uses it).
        case deleting(RegisteredTaskDefinition)
        /// Still ACTIVE: it must be deregistered first.
        case active(RegisteredTaskDefinition)
        case notFound
    }

    /// Submits an INACTIVE revision (`family:revision` or ARN) for deletion, as ECS's
    /// DeleteTaskDefinitions does: it becomes DELETE_IN_PROGRESS, and is gone once no
    /// unstopped task uses it (see `purgeDeletedTaskDefinitions`). Its revision number stays
    /// taken.
    public func deleteTaskDefinition(_ ref: String) async throws -> TaskDefinitionDeletion {
        let (family, revision) = Self.reference(ref)
        guard let revision else { return .notFound }
        return try await writeDB { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM task_definitions WHERE family = ? AND revision = ? AND status != 'DELETED'", arguments: [family, revision])
            else {
                return .notFound
            }
            let found = try Self.registered(row)
            if found.definition.status == "ACTIVE" { return .active(found) }
            try db.execute(sql: "UPDATE task_definitions SET status = 'DELETE_IN_PROGRESS' WHERE family = ? AND revision = ?", arguments: [family, revision])
            var deleting = found
            deleting.definition.status = "DELETE_IN_PROGRESS"
            return .deleting(deleting)
        }
    }

    /// Deletes for good the DELETE_IN_PROGRESS revisions that no unstopped task uses, as ECS
    /// does once their tasks have stopped. Only a tombstone stays, so that the family's next
    /// revision number is not reused. Returns how many went.
    @discardableResult
    public func purgeDeletedTaskDefinitions() async throws -> Int {
        try await writeDB { db in
            let deleting = try Row.fetchAll(db, sql: "SELECT family, revision, arn FROM task_definitions WHERE status = 'DELETE_IN_PROGRESS'")
            var purged = 0
            for row in deleting {
                let family: String = row["family"]
                let revision: Int = row["revision"]
                let arn: String = row["arn"]
                let inUse = try String.fetchAll(db, sql: "SELECT record FROM tasks WHERE family = ? AND last_status != 'STOPPED'", arguments: [family])
                    .contains { (try? Self.decode(TaskRecord.self, $0))?.task.taskDefinitionArn == arn }
                if inUse { continue }
                try db.execute(
                    sql: "UPDATE task_definitions SET status = 'DELETED', document = '{}', definition = '{}', tags = '[]' WHERE family = ? AND revision = ?",
                    arguments: [family, revision])
                purged += 1
            }
            return purged
        }
    }

    /// Replaces a task definition's tags.
    public func setTaskDefinitionTags(_ arn: String, _ tags: [Tag]) async throws -> Bool {
        let text = try Self.encode(tags)
        return try await writeDB { db in
            try db.execute(sql: "UPDATE task_definitions SET tags = ? WHERE arn = ?", arguments: [text, arn])
            return db.changesCount > 0
        }
    }

    // MARK: Clusters

    /// A cluster as the API reports it.
    public struct ClusterRecord: Sendable {
        public var name: String
        public var arn: String
        public var status: String
    }

    /// Creates (or reactivates) a cluster.
    public func createCluster(name: String, arn: String) async throws -> ClusterRecord {
        try await writeDB { db in
            try db.execute(
                sql: "INSERT INTO clusters VALUES (?, ?, 'ACTIVE', ?) ON CONFLICT(name) DO UPDATE SET status = 'ACTIVE'",
                arguments: [name, arn, Date().timeIntervalSince1970])
            return ClusterRecord(name: name, arn: arn, status: "ACTIVE")
        }
    }

    /// Every cluster CreateCluster made (or a task's run implied), by name.
    public func clusters() async throws -> [ClusterRecord] {
        try await readDB { db in
            try Row.fetchAll(db, sql: "SELECT * FROM clusters ORDER BY name").map { ClusterRecord(name: $0["name"], arn: $0["arn"], status: $0["status"]) }
        }
    }

    /// Sets a cluster's status (`INACTIVE` once DeleteCluster has deleted it).
    public func setClusterStatus(name: String, status: String) async throws {
        try await writeDB { db in try db.execute(sql: "UPDATE clusters SET status = ? WHERE name = ?", arguments: [status, name]) }
    }

    // MARK: Idempotency

    /// The tasks a RunTask with this client token created, and the request it was made with.
    public func clientToken(_ token: String) async throws -> (request: String, taskIDs: [String])? {
        try await readDB { db in
            try Row.fetchOne(db, sql: "SELECT request, task_ids FROM client_tokens WHERE token = ?", arguments: [token]).map {
                ($0["request"], ($0["task_ids"] as String).split(separator: ",").map(String.init))
            }
        }
    }

    /// Remembers which tasks a RunTask with this `clientToken` started, and its request, so that
    /// a retry with the same token returns them (and a different request with it is refused).
    public func saveClientToken(_ token: String, request: String, taskIDs: [String]) async throws {
        try await writeDB { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO client_tokens VALUES (?, ?, ?, ?)",
                arguments: [token, request, taskIDs.joined(separator: ","), Date().timeIntervalSince1970])
        }
    }

    /// Deletes stopped tasks older than `retention` seconds; returns how many.
    public func pruneStoppedTasks(olderThan retention: TimeInterval) async throws -> Int {
        let cutoff = Date().timeIntervalSince1970 - retention
        return try await writeDB { db in
            try db.execute(sql: "DELETE FROM tasks WHERE last_status = 'STOPPED' AND created_at < ?", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM stop_requests WHERE task_id NOT IN (SELECT id FROM tasks)")
            return db.changesCount
        }
    }

    static func likePrefix(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
    }
}
