import Foundation
import Synchronization

/// A file descriptor closed once its last user releases it.
final class SharedDescriptor: Sendable {
    private let users: Mutex<Int>
    private let descriptor: Int32

    init(_ descriptor: Int32, users: Int) {
        self.descriptor = descriptor
        self.users = Mutex(users)
    }

    func release() {
        if users.withLock({
            $0 -= 1
            return $0
        }) == 0 {
            close(descriptor)
        }
    }
}
