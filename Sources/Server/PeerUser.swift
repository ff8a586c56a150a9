import Foundation
import Hummingbird
import NIOCore

/// Which user of this machine is on the other end of a TCP connection: the owner of the
/// client's socket, as the kernel lists it in `/proc/net/tcp` and `/proc/net/tcp6`
/// (identd's method). The ECS and Logs APIs answer only the users they trust with it:
/// whoever may RunTask may mount this machine's folders into a task, as the user that
/// runs fargate-local.
public enum PeerUser {
    /// The uid that owns the client's end of the connection from `client` to `server`; nil
    /// when that end is not in this machine's network namespace (another host, a container).
    public static func uid(client: SocketAddress, server: SocketAddress) -> UInt32? {
        guard let clientPort = client.port, let serverPort = server.port else { return nil }
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let handle = FileHandle(forReadingAtPath: table) else { continue }
            defer { try? handle.close() }
            // procfs files report no size: read to the end.
            guard let data = try? handle.readToEnd() else { continue }
            if let uid = uid(inTable: String(decoding: data, as: UTF8.self), clientPort: clientPort, serverPort: serverPort) {
                return uid
            }
        }
        return nil
    }

    /// The uid column of the socket whose local port is `clientPort` and whose remote port is
    /// `serverPort`, in a `/proc/net/tcp`-format table (`sl local_address rem_address st
    /// tx_queue:rx_queue tr:tm->when retrnsmt uid …`, addresses as `HEXADDR:HEXPORT`).
    static func uid(inTable table: String, clientPort: Int, serverPort: Int) -> UInt32? {
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 7,
                let local = fields[1].split(separator: ":").last, Int(local, radix: 16) == clientPort,
                let remote = fields[2].split(separator: ":").last, Int(remote, radix: 16) == serverPort
            else { continue }
            return UInt32(fields[7])
        }
        return nil
    }

    /// A user given by name or uid (`--allow-user`); nil when there is no such user.
    public static func resolve(_ user: String) -> UInt32? {
        if let uid = UInt32(user) { return uid }
        guard let entry = getpwnam(user) else { return nil }
        return entry.pointee.pw_uid
    }
}

/// The request context of fargate-local's listeners: Hummingbird's, with the connection's
/// two ends, so that the APIs can tell who is asking (`PeerUser`).
public struct ConnectionRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address and port.
    public let remoteAddress: SocketAddress?
    /// The listener's address and port the client connected to.
    public let localAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        localAddress = source.channel.localAddress
    }
}
