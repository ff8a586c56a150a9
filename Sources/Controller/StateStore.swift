import ECSModel
import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// The controller's durable state in SQLite: registered task definitions and tasks.
/// Several processes (the CLI, supervisors, the server) share it through WAL.
public final class StateStore: Sendable {
    private let pool: DatabasePool
    public let directory: URL

    /// Opens (creating when new) the state database in `directory`.
    public init(directory: URL) throws {
        self.directory = directory
        do {
            try PrivateFiles.makeDirectory(directory)
            // Creating and migrating the database is serialised across processes (two `run`s on a
            // fresh state directory would otherwise both find it empty and both create tables).
            let lock = Glibc.open(directory.appendingPathComponent("state.lock").path, O_RDWR | O_CREAT, 0o600)
            if lock >= 0 { flock(lock, LOCK_EX) }
            defer {
                if lock >= 0 {
                    flock(lock, LOCK_UN)
                    close(lock)
                }
            }
            var config = Configuration()
            config.busyMode = .timeout(10)
            // WAL with synchronous=NORMAL: every transition is on disk before the controller acts
            // (it survives a controller crash); only a power loss may drop the last commits.
            // Every process that opens the database first replays the WAL's frames: checkpoint
            // every 128 pages (not SQLite's 1000) so that replay stays well under a millisecond.
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 128") }
            // The database is 0600 (SQLite gives its -wal and -shm files the same mode).
            let database = directory.appendingPathComponent("state.sqlite").path
            for path in [database, database + "-wal", database + "-shm"] {
                if path == database { PrivateFiles.makeFile(path) } else { PrivateFiles.restrict(path, to: 0o600) }
            }
            pool = try Self.open(database, config)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE task_definitions (
                            family TEXT NOT NULL, revision INTEGER NOT NULL, arn TEXT NOT NULL,
                            status TEXT NOT NULL, registered_at REAL NOT NULL, document TEXT NOT NULL,
                            definition TEXT NOT NULL, PRIMARY KEY (family, revision));
                        CREATE TABLE tasks (
                            id TEXT PRIMARY KEY, arn TEXT NOT NULL, cluster TEXT NOT NULL, family TEXT NOT NULL,
                            last_status TEXT NOT NULL, desired_status TEXT NOT NULL, started_by TEXT,
                            created_at REAL NOT NULL, record TEXT NOT NULL);
                        CREATE INDEX tasks_by_status ON tasks (desired_status, created_at);
                        """)
            }
            migrator.registerMigration("v2") { db in
                try db.execute(
                    sql: """
                        ALTER TABLE task_definitions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
                        ALTER TABLE task_definitions ADD COLUMN deregistered_at REAL;
                        CREATE TABLE clusters (name TEXT PRIMARY KEY, arn TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL);
                        CREATE TABLE client_tokens (token TEXT PRIMARY KEY, request TEXT NOT NULL, task_ids TEXT NOT NULL, created_at REAL NOT NULL);
                        """)
            }
            // Stops asked for from outside the supervising process, apart from the task's
            // record, which that process saves whole and would overwrite.
            migrator.registerMigration("v3") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE stop_requests (task_id TEXT PRIMARY KEY, reason TEXT NOT NULL, timeout_seconds INTEGER,
                          stop_code TEXT NOT NULL, requested_at REAL NOT NULL);
                        """)
            }
            try migrator.migrate(pool)
        } catch {
            throw ControllerError(.io, "cannot open the state database in \(directory.path): \(error)")
        }
    }

    /// Opens the pool. Two processes creating a new database at the same moment can find it
    /// locked while one switches it to WAL (busy_timeout does not cover that pragma), so a
    /// locked open is retried for up to 5 s.
    private static func open(_ path: String, _ config: Configuration) throws -> DatabasePool {
        var attempt = 0
        while true {
            do {
                return try DatabasePool(path: path, configuration: config)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 50 {
                attempt += 1
                usleep(100_000)
            }
        }
    }

    // MARK: Task definitions

    /// A registered revision.
    public struct Registration: Sendable {
        public var definition: TaskDefinition
        public var document: JSONValue
    }

    /// Registers `definition` as the next revision of its family, unless `reuseIdentical`
    /// and the latest revision has the same document, in which case that one is returned.
    public func register(_ definition: TaskDefinition, document: JSONValue, arns: ARNFactory, reuseIdentical: Bool) async throws -> TaskDefinition {
        let docText = document.serialized()
        return try await write { db in
            if reuseIdentical,
                let row = try Row.fetchOne(
                    db, sql: "SELECT document, definition FROM task_definitions WHERE family = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1",
                    arguments: [definition.family]),
                (row["document"] as String) == docText
            {
                return try Self.decode(TaskDefinition.self, row["definition"])
            }
            let last = try Int.fetchOne(db, sql: "SELECT MAX(revision) FROM task_definitions WHERE family = ?", arguments: [definition.family]) ?? 0
            var registered = definition
            registered.revision = last + 1
            registered.taskDefinitionArn = arns.taskDefinition(family: definition.family, revision: last + 1)
            registered.status = "ACTIVE"
            registered.registeredAt = Date()
            registered.compatibilities = ["EC2", "FARGATE"]
            try db.execute(
                sql: """
                    INSERT INTO task_definitions (family, revision, arn, status, registered_at, document, definition, tags)
                    VALUES (?, ?, ?, 'ACTIVE', ?, ?, ?, ?)
                    """,
                arguments: [
                    definition.family, last + 1, registered.taskDefinitionArn, registered.registeredAt?.timeIntervalSince1970,
                    docText, try Self.encode(registered), try Self.encode(definition.tags ?? []),
                ])
            return registered
        }
    }

    /// Looks a task definition up by `family`, `family:revision` or ARN (latest ACTIVE revision
    /// for a bare family), with its status (ACTIVE, INACTIVE or DELETE_IN_PROGRESS).
    public func taskDefinition(_ reference: String) async throws -> TaskDefinition? {
        var ref = reference
        if ref.hasPrefix("arn:"), let slash = ref.lastIndex(of: "/") { ref = String(ref[ref.index(after: slash)...]) }
        let parts = ref.split(separator: ":", maxSplits: 1).map(String.init)
        return try await read { db in
            let row: Row?
            if parts.count == 2, let rev = Int(parts[1]) {
                row = try Row.fetchOne(
                    db, sql: "SELECT definition, status FROM task_definitions WHERE family = ? AND revision = ? AND status != 'DELETED'",
                    arguments: [parts[0], rev])
            } else {
                row = try Row.fetchOne(
                    db, sql: "SELECT definition, status FROM task_definitions WHERE family = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1",
                    arguments: [parts[0]])
            }
            return try row.map { row in
                var definition = try Self.decode(TaskDefinition.self, row["definition"])
                definition.status = row["status"]
                return definition
            }
        }
    }

    // MARK: Tasks

    /// Inserts or replaces a task record. Called before the controller acts on a transition.
    public func save(_ record: TaskRecord) async throws {
        let text = try Self.encode(record)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET last_status = excluded.last_status,
                      desired_status = excluded.desired_status, record = excluded.record
                    """,
                arguments: [
                    record.id, record.task.taskArn, record.task.clusterArn, record.definition.family,
                    record.task.lastStatus.rawValue, record.task.desiredStatus, record.task.startedBy,
                    record.task.createdAt?.timeIntervalSince1970 ?? Date().timeIntervalSince1970, text,
                ])
        }
    }

    /// Makes this process the supervisor of a task taken for orphaned, in one transaction:
    /// only if its stored record still names the gone supervisor `orphan` names (no other
    /// process took it over meanwhile: a `serve` starting, a `stop`) and it has not stopped.
    /// Returns the stored record, now naming this process; nil when it was not claimed.
    public func claimSupervision(of orphan: TaskRecord) async throws -> TaskRecord? {
        let (pid, start) = (orphan.supervisorPID, orphan.supervisorStartTime)
        return try await write { db in
            guard let text = try String.fetchOne(db, sql: "SELECT record FROM tasks WHERE id = ?", arguments: [orphan.id]) else { return nil }
            var record = try Self.decode(TaskRecord.self, text)
            guard record.supervisorPID == pid, record.supervisorStartTime == start, record.task.lastStatus != .stopped else { return nil }
            record.setSupervisor(getpid())
            try db.execute(sql: "UPDATE tasks SET record = ? WHERE id = ?", arguments: [try Self.encode(record), orphan.id])
            return record
        }
    }

    /// Applies `change` to the stored record atomically and returns the result.
    public func update(_ id: String, _ change: @Sendable @escaping (inout TaskRecord) -> Void) async throws -> TaskRecord {
        try await write { db in
            guard let text = try String.fetchOne(db, sql: "SELECT record FROM tasks WHERE id = ?", arguments: [id]) else {
                throw ControllerError(.notFound, "task \(id) not found")
            }
            var record = try Self.decode(TaskRecord.self, text)
            change(&record)
            try db.execute(
                sql: "UPDATE tasks SET last_status = ?, desired_status = ?, record = ? WHERE id = ?",
                arguments: [
                    record.task.lastStatus.rawValue, record.task.desiredStatus, try Self.encode(record), id,
                ])
            return record
        }
    }

    /// Records a stop asked for from outside the process supervising task `id` (the
    /// latest wins) and returns the task's record.
    public func requestStop(_ id: String, _ request: StopRequest) async throws -> TaskRecord {
        try await write { db in
            guard let text = try String.fetchOne(db, sql: "SELECT record FROM tasks WHERE id = ?", arguments: [id]) else {
                throw ControllerError(.notFound, "task \(id) not found")
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO stop_requests VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    id, request.reason, request.timeoutSeconds, request.code.rawValue, Date().timeIntervalSince1970,
                ])
            return try Self.decode(TaskRecord.self, text)
        }
    }

    /// The stop last asked for from outside the process supervising task `id`, if any.
    public func stopRequest(for id: String) async throws -> StopRequest? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT reason, timeout_seconds, stop_code FROM stop_requests WHERE task_id = ?", arguments: [id]).map { row in
                StopRequest(reason: row["reason"], timeoutSeconds: row["timeout_seconds"], code: StopCode(rawValue: row["stop_code"]) ?? .userInitiated)
            }
        }
    }

    /// The task with this id.
    public func task(id: String) async throws -> TaskRecord? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT record FROM tasks WHERE id = ?", arguments: [id]).map { try Self.decode(TaskRecord.self, $0) }
        }
    }

    /// Resolves a full id, an ARN or an unambiguous id prefix to one task.
    public func resolveTask(_ reference: String) async throws -> TaskRecord {
        let ref = reference.hasPrefix("arn:") ? String(reference.split(separator: "/").last ?? "") : reference.lowercased()
        let ids: [String] = try await read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM tasks WHERE id LIKE ? ESCAPE '\\' LIMIT 3",
                arguments: [ref.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"])
        }
        guard !ref.isEmpty, !ids.isEmpty else { throw ControllerError(.notFound, "no task matches \"\(reference)\"") }
        if ids.count > 1 && !ids.contains(ref) {
            throw ControllerError(
                .ambiguous, "task id prefix \"\(reference)\" is ambiguous: it matches \(ids.joined(separator: ", "))\(ids.count == 3 ? ", …" : "")")
        }
        let id = ids.contains(ref) ? ref : ids[0]
        guard let record = try await task(id: id) else { throw ControllerError(.notFound, "no task matches \"\(reference)\"") }
        return record
    }

    /// Tasks, newest first, optionally only those with `desiredStatus`.
    /// Every task that has not reached STOPPED.
    public func unstoppedTasks() async throws -> [TaskRecord] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT record FROM tasks WHERE last_status != 'STOPPED' ORDER BY created_at")
                .map { try Self.decode(TaskRecord.self, $0) }
        }
    }

    /// The tasks with this desired status, family and startedBy (each nil: any), newest first.
    public func tasks(desiredStatus: String? = nil, family: String? = nil, startedBy: String? = nil) async throws -> [TaskRecord] {
        try await read { db in
            var sql = "SELECT record FROM tasks WHERE 1 = 1"
            var args: [any DatabaseValueConvertible] = []
            if let desiredStatus {
                sql += " AND desired_status = ?"
                args.append(desiredStatus)
            }
            if let family {
                sql += " AND family = ?"
                args.append(family)
            }
            if let startedBy {
                sql += " AND started_by = ?"
                args.append(startedBy)
            }
            sql += " ORDER BY created_at DESC"
            return try String.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { try Self.decode(TaskRecord.self, $0) }
        }
    }

    /// The tasks that may have changed since a follower last looked: every task not yet
    /// STOPPED, the tasks in `watched` (those it saw unstopped: they may have stopped since),
    /// and those created at or after `createdSince` (seconds since the epoch). A STOPPED task
    /// changes no more, so a follower does not read it again. Oldest first.
    public func tasksThatMayHaveChanged(family: String?, watched: Set<String>, createdSince: Double) async throws -> [TaskRecord] {
        try await read { db in
            var sql = "SELECT record FROM tasks WHERE (last_status != 'STOPPED' OR created_at >= ?"
            var args: [any DatabaseValueConvertible] = [createdSince]
            if !watched.isEmpty {
                sql += " OR id IN (\(Array(repeating: "?", count: watched.count).joined(separator: ", ")))"
                args += watched.sorted() as [any DatabaseValueConvertible]
            }
            sql += ")"
            if let family {
                sql += " AND family = ?"
                args.append(family)
            }
            sql += " ORDER BY created_at"
            return try String.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { try Self.decode(TaskRecord.self, $0) }
        }
    }

    // MARK: Helpers

    func writeDB<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T { try await write(body) }
    func readDB<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T { try await read(body) }

    /// Runs `body` in an IMMEDIATE transaction: it takes the write lock up front, so two
    /// processes never both read the same state and then collide on commit.
    private func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw ControllerError(.state, "a state database transaction returned nothing") }
                return result
            }
        } catch let e as ControllerError {
            throw e
        } catch {
            throw ControllerError(.io, "state database write failed: \(error)")
        }
    }

    private func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let e as ControllerError {
            throw e
        } catch {
            throw ControllerError(.io, "state database read failed: \(error)")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try decoder.decode(type, from: Data(text.utf8))
    }
}
