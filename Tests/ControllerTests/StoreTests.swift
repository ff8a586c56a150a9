import ECSModel
import Foundation
import Synchronization
import Testing

@testable import Controller

struct StateStoreTests {
    static let text = #"{"family": "svc", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "c", "image": "i"}]}"#

    /// Overrides and credentials tokens are in the database, containers' output in the logs:
    /// only the state directory's owner may read them, also where an older version left
    /// them readable.
    @Test func theStateIsPrivateToItsOwner() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("fl-private-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = parent.appendingPathComponent("state")
        func mode(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1 }
        var store: StateStore? = try StateStore(directory: directory)  // open: its -wal exists
        _ = try LogStore(root: directory.appendingPathComponent("logs"))
        #expect(mode(parent.path) == 0o700 && mode(directory.path) == 0o700 && mode(directory.appendingPathComponent("logs").path) == 0o700)
        let database = directory.appendingPathComponent("state.sqlite").path
        #expect(mode(database) == 0o600 && mode(database + "-wal") == 0o600, "\(String(mode(database), radix: 8))")
        // As an older version left them: readable by all. Opening makes them private.
        for path in [database, database + "-wal", directory.appendingPathComponent("logs").path] { chmod(path, 0o755) }
        store = try StateStore(directory: directory)
        _ = try LogStore(root: directory.appendingPathComponent("logs"))
        #expect(store != nil && mode(database) == 0o600 && mode(database + "-wal") == 0o600 && mode(directory.appendingPathComponent("logs").path) == 0o700)
    }

    @Test func revisionsAndLookups() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let one = try await f.register(Self.text)
        let same = try await f.register(Self.text)
        #expect(one.revision == 1 && same.revision == 1)
        let loaded = TaskDefinitionLoader.load(text: Self.text.replacingOccurrences(of: "\"i\"", with: "\"j\""))
        let two = try await f.controller.register(loaded, reuseIdentical: true)
        #expect(two.revision == 2)
        #expect(two.taskDefinitionArn == "arn:aws:ecs:eu-west-1:000000000000:task-definition/svc:2")
        #expect(try await f.controller.store.taskDefinition("svc")?.revision == 2)
        #expect(try await f.controller.store.taskDefinition("svc:1")?.containerDefinitions[0].image == "i")
        #expect(try await f.controller.store.taskDefinition(two.taskDefinitionArn ?? "")?.revision == 2)
        #expect(try await f.controller.store.taskDefinition("nope") == nil)
    }

    /// The supervisor's background saves: in order, the newest waiting record wins, and
    /// `flush()` returns only once the last one submitted is stored.
    @Test func recordWriterSavesInOrderAndFlushWaitsForTheNewest() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(Self.text)
        var record = try await f.controller.createTask(definition: td, overrides: TaskOverride(), options: RunOptions())
        let store = f.controller.store
        let id = record.id
        let writer = RecordWriter(store: store) { error in Issue.record("a save failed: \(error)") }
        let reads = Mutex(0)
        let reader = Task {
            var seen: [Int] = []
            while !Task.isCancelled {
                if let stored = try? await store.task(id: id) {
                    seen.append(stored.task.version)
                    reads.withLock { $0 = seen.count }
                }
                try? await Task.sleep(for: .microseconds(300))
            }
            return seen
        }
        // At least 300 submits, and on until the reader has read during them (however
        // slowly this machine schedules it), so the order check below means something.
        var version = 0
        while version < 300 || (reads.withLock { $0 } < 3 && version < 100_000) {
            version += 1
            record.task.version = version
            writer.submit(record)
            if version % 50 == 0 { try await Task.sleep(for: .milliseconds(2)) }
        }
        await writer.flush()
        #expect(try await store.task(id: id)?.task.version == version)
        try await Task.sleep(for: .milliseconds(5))
        reader.cancel()
        let seen = await reader.value
        #expect(seen.count > 2)
        #expect(seen == seen.sorted(), "a reader saw an older record after a newer one")
        // Flushing when nothing is waiting returns at once.
        await writer.flush()
    }

    @Test func invalidDefinitionsAreNotRegisteredAndStateIsKept() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        _ = try await f.register(Self.text)
        let bad = TaskDefinitionLoader.load(text: Self.text.replacingOccurrences(of: "\"256\"", with: "\"300\""))
        await #expect(throws: ControllerError.self) { try await f.controller.register(bad, reuseIdentical: false) }
        #expect(try await f.controller.store.taskDefinition("svc")?.revision == 1)
    }

    @Test func taskIdsResolveByPrefixAndArn() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(Self.text)
        let a = try await f.controller.createTask(definition: td, overrides: TaskOverride(), options: RunOptions())
        let b = try await f.controller.createTask(definition: td, overrides: TaskOverride(), options: RunOptions(startedBy: "ci"))
        #expect(a.id.count == 32 && a.id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(a.task.lastStatus == .provisioning && a.task.desiredStatus == "RUNNING")
        #expect(a.task.group == "family:svc")
        #expect(try await f.controller.store.resolveTask(String(a.id.prefix(10))).id == a.id)
        #expect(try await f.controller.store.resolveTask(a.task.taskArn).id == a.id)
        await #expect(throws: ControllerError.self) { try await f.controller.store.resolveTask("zzzz") }
        // Two tasks whose ids share a prefix ("" never resolves).
        await #expect(throws: ControllerError.self) { try await f.controller.store.resolveTask("") }
        let byStarter = try await f.controller.store.tasks(startedBy: "ci")
        #expect(byStarter.map(\.id) == [b.id])
        let running = try await f.controller.store.tasks(desiredStatus: "RUNNING")
        #expect(Set(running.map(\.id)) == [a.id, b.id])
    }

    /// Taking over an orphan is claimed in one transaction: of two processes that both take
    /// the same task for orphaned (a `stop` and a starting `serve`), only the first gets it.
    @Test func anOrphanIsClaimedOnce() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(Self.text)
        var orphan = try await f.controller.createTask(definition: td, overrides: TaskOverride(), options: RunOptions())
        // Its supervisor, as recorded, is gone.
        orphan.supervisorPID = 999_999
        orphan.supervisorStartTime = 1
        try await f.controller.store.save(orphan)
        let claimed = try #require(try await f.controller.store.claimSupervision(of: orphan))
        #expect(claimed.supervisorPID == getpid() && claimed.runningSupervisorPID == getpid())
        #expect(try await f.controller.store.claimSupervision(of: orphan) == nil, "a second claim from the same stale view")
        #expect(try await f.controller.store.task(id: orphan.id)?.supervisorPID == getpid())
        // A stopped task is never claimed.
        _ = try await f.controller.markLost(claimed, reason: "gone")
        var stopped = try #require(try await f.controller.store.task(id: orphan.id))
        stopped.supervisorPID = 999_999
        try await f.controller.store.save(stopped)
        #expect(try await f.controller.store.claimSupervision(of: stopped) == nil)
    }

    @Test func overridesMustNameExistingContainers() async throws {
        let f = try ControllerFixture()
        defer { f.cleanup() }
        let td = try await f.register(Self.text)
        await #expect(throws: ControllerError.self) {
            _ = try await f.controller.createTask(
                definition: td, overrides: TaskOverride(containerOverrides: [ContainerOverride(name: "ghost")]), options: RunOptions())
        }
        #expect(try await f.controller.store.tasks().isEmpty)
    }
}

struct LogStoreTests {
    /// A log store in a fresh temporary folder (the caller removes it).
    static func temporaryStore() throws -> (LogStore, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fl-logs-\(UUID().uuidString)")
        return (try LogStore(root: dir), dir)
    }

    @Test func streamsKeepOrderAndOddCharacters() async throws {
        let (store, dir) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = LogStreamName(group: "/ecs/app", stream: "prefix/c/abc")
        let writer = try store.openWriter(for: name)
        await writer.append(timestamps: [1, 2, 3], messages: ["tab\there", "ünïcödé", ""])
        await writer.append(timestamps: [4], messages: ["multi\nline"])
        await writer.close()
        let events = store.events(of: name)
        #expect(events.map(\.message) == ["tab\there", "ünïcödé", "", "multi line"])
        #expect(events.map(\.timestamp) == [1, 2, 3, 4])
        #expect(store.fileURL(for: name).path.hasPrefix(dir.path))
        #expect(store.fileURL(for: LogStreamName(group: "..", stream: "../../x")).path.hasPrefix(dir.path))
        #expect(store.events(of: LogStreamName(group: "none", stream: "none")).isEmpty)
    }

    @Test func streamInfoReadsTheFirstAndLastEventsOfAnyLength() async throws {
        let (store, dir) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = LogStreamName(group: "/ecs/app", stream: "p/c/1")
        #expect(store.streamInfo(name) == nil)
        #expect(!store.streamExists(name))
        let writer = try store.openWriter(for: name)
        // An empty stream: its times are the file's.
        let empty = try #require(store.streamInfo(name))
        #expect(empty.firstEvent == empty.lastEvent)
        #expect(abs(empty.firstEvent - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000)
        // The last line is longer than every chunk the tail is first read in, and one line
        // before it is a single byte: each must be found whole.
        await writer.append(timestamps: [1_700_000_000_001, 1_700_000_000_002], messages: ["x", String(repeating: "y", count: 70_000)])
        await writer.close()
        let info = try #require(store.streamInfo(name))
        #expect(info.firstEvent == 1_700_000_000_001)
        #expect(info.lastEvent == 1_700_000_000_002)
        #expect(info.created == Date(timeIntervalSince1970: 1_700_000_000.001))
        #expect(store.streamExists(name))
        #expect(store.streams(in: "/ecs/app").map(\.name) == ["p/c/1"])
        let group = try #require(store.groups().first)
        #expect(group.created == info.created)
        #expect(group.bytes == info.bytes)
        // A line still being written, its timestamp not yet whole: the last whole line counts.
        let handle = try FileHandle(forWritingTo: store.fileURL(for: name))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("17000".utf8))
        try handle.close()
        #expect(store.streamInfo(name)?.lastEvent == 1_700_000_000_002)
        // One line, no final newline.
        let single = LogStreamName(group: "/ecs/app", stream: "p/c/2")
        try Data("1700000000123\tonly".utf8).write(to: store.fileURL(for: single))
        let one = try #require(store.streamInfo(single))
        #expect(one.firstEvent == 1_700_000_000_123 && one.lastEvent == 1_700_000_000_123)
    }

    @Test func followingReadsOnlyWhatTheStreamGained() async throws {
        let (store, dir) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = LogStreamName(group: "/ecs/app", stream: "p/c/1")
        var position = LogStore.ReadPosition()
        #expect(store.events(of: name, after: position).events.isEmpty)
        let writer = try store.openWriter(for: name)
        await writer.append(timestamps: [1, 2], messages: ["one", "twö"])
        var read = store.events(of: name, after: position)
        #expect(read.events == [LogEvent(timestamp: 1, message: "one"), LogEvent(timestamp: 2, message: "twö")])
        #expect(read.lineStarts == [0, 6])  // "1\tone\n" is 6 bytes
        position = read.position
        #expect(store.events(of: name, after: position).events.isEmpty)
        await writer.close()
        // A line still being written is not given until its newline comes.
        let file = try FileHandle(forWritingTo: store.fileURL(for: name))
        try file.seekToEnd()
        try file.write(contentsOf: Data("3\tthr".utf8))
        read = store.events(of: name, after: position)
        #expect(read.events.isEmpty && read.position == position)
        try file.write(contentsOf: Data("ee\n".utf8))
        try file.close()
        read = store.events(of: name, after: position)
        #expect(read.events == [LogEvent(timestamp: 3, message: "three")])
        position = read.position
        // A line longer than one CloudWatch event is split as cloudWatchEvents splits it.
        let reopened = try store.openWriter(for: name)
        await reopened.append(timestamps: [4], messages: [String(repeating: "z", count: LogEventGrouping.maximumEventBytes + 10)])
        await reopened.close()
        read = store.events(of: name, after: position)
        #expect(read.events.map(\.message.utf8.count) == [LogEventGrouping.maximumEventBytes, 10])
        #expect(read.lineStarts == [position.byteOffset, nil], "a line's second part cannot be resumed before")
        #expect(read.position.eventCount == store.cloudWatchEvents(of: name).count)
        // A multi-line stream is given event by event, its open last event once complete.
        let grouped = LogStreamName(group: "/ecs/app", stream: "p/c/2")
        let groupedWriter = try store.openWriter(for: grouped, startPattern: "^START")
        await groupedWriter.append(timestamps: [10, 11, 12], messages: ["START a", "  more", "START b"])
        let first = store.events(of: grouped, after: LogStore.ReadPosition(), now: 13)
        #expect(first.events == [LogEvent(timestamp: 10, message: "START a\n  more\n")])
        await groupedWriter.close()
        let rest = store.events(of: grouped, after: first.position, now: 13)
        #expect(rest.events == [LogEvent(timestamp: 12, message: "START b\n")])
    }

    /// A multi-line stream followed round by round gives the events one whole read gives,
    /// each once, and each round regroups only from the line of the event still open (its
    /// position's byte), not the stream from its start.
    @Test func followingAGroupedStreamRegroupsOnlyItsLastEvent() async throws {
        let (store, dir) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = LogStreamName(group: "/ecs/app", stream: "p/c/3")
        let writer = try store.openWriter(for: name, startPattern: "^START")
        var followed: [LogEvent] = []
        var starts: [UInt64?] = []
        var position = LogStore.ReadPosition()
        func follow(now: Int64) {
            let read = store.events(of: name, after: position, now: now)
            followed += read.events
            starts += read.lineStarts
            position = read.position
        }
        // Rounds: an event that spans two writes; one given only once 5 s have passed; a
        // continuation longer than an event; the stream closed with an event open.
        await writer.append(timestamps: [1000, 1001], messages: ["START one", "  at a"])
        follow(now: 1002)
        #expect(followed.isEmpty && position == LogStore.ReadPosition(), "the open event is not given yet")
        await writer.append(timestamps: [1003, 1004, 1005], messages: ["  at b", "START two", "  at c"])
        follow(now: 1006)
        #expect(followed.map(\.message) == ["START one\n  at a\n  at b\n"])
        let twoStarts = position.byteOffset
        #expect(twoStarts > 0 && position.eventCount == 1, "the next round starts at START two's line")
        follow(now: 7000)
        #expect(followed.count == 2 && position.eventCount == 2)
        let big = String(repeating: "y", count: 200_000)
        await writer.append(timestamps: [8000, 8001, 8002, 8003], messages: ["START three", big, big, "START four"])
        follow(now: 8004)
        await writer.append(timestamps: [8005], messages: ["  at d"])
        await writer.close()
        follow(now: 8006)
        let whole = store.cloudWatchEvents(of: name, now: 8006)
        #expect(followed == whole, "\(followed.map { $0.message.prefix(12) }) vs \(whole.map { $0.message.prefix(12) })")
        #expect(whole.count == 5 && position.eventCount == 5, "START three and the first big line; the second big line; START four")
        #expect(starts.count == followed.count && starts[1] == twoStarts)
        // A reader that starts over at byte 0 with events already given gets the rest.
        let rest = store.events(of: name, after: LogStore.ReadPosition(byteOffset: 0, eventCount: 4), now: 8006)
        #expect(rest.events == Array(whole[4...]))
        // Resuming at a given event's line gives it and what follows.
        let resumed = store.events(of: name, after: LogStore.ReadPosition(byteOffset: try #require(starts[1]), eventCount: 1), now: 8006)
        #expect(resumed.events == Array(whole[1...]))
    }

    @Test func readsCrossChunkBoundariesAndStopOnceAPageIsRead() async throws {
        let (store, dir) = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = LogStreamName(group: "/ecs/app", stream: "p/c/1")
        let writer = try store.openWriter(for: name)
        // 1,100 lines of ~1 KB: the 1 MiB read chunks end inside a line.
        let messages = (1...1100).map { String(format: "%04d", $0) + String(repeating: "x", count: 1000) }
        await writer.append(timestamps: (1...1100).map(Int64.init), messages: messages)
        await writer.close()
        let whole = store.events(of: name, after: LogStore.ReadPosition())
        #expect(whole.events.map(\.message) == messages)
        #expect(whole.lineStarts.compactMap { $0 }.count == 1100)
        #expect(zip(whole.lineStarts.dropFirst(), whole.lineStarts).allSatisfy { next, previous in next! > previous! })
        // A page's read stops after the chunk that gives it; the rest follows from there.
        let page = store.events(of: name, after: LogStore.ReadPosition(), atLeast: 10)
        #expect(page.events.count > 10 && page.events.count < 1100, "\(page.events.count)")
        let rest = store.events(of: name, after: page.position)
        #expect((page.events + rest.events).map(\.message) == messages)
        #expect(rest.position == whole.position)
    }
}
