import ECSModel
import Foundation

/// What Fargate's task metadata endpoint reports about a container that only the Docker
/// engine knows: the image it runs and its task's address. A container that joined its
/// task's pause container (`container:<pause>`) has the pause container's network.
public struct DockerContainerFacts: Sendable, Equatable {
    /// `sha256:…`, the image's id as the engine resolved it.
    public var imageID: String?
    public var ipv4Address: String?
    public var ipv4PrefixLength: Int?
    public var macAddress: String?
    public var gateway: String?
    /// What the container wrote to its own filesystem (its writable layer, `SizeRw`), when
    /// asked for: the engine walks the layer to measure it.
    public var writableLayerBytes: Int64?

    public init(imageID: String? = nil, ipv4Address: String? = nil, ipv4PrefixLength: Int? = nil, macAddress: String? = nil, gateway: String? = nil) {
        self.imageID = imageID
        self.ipv4Address = ipv4Address
        self.ipv4PrefixLength = ipv4PrefixLength
        self.macAddress = macAddress
        self.gateway = gateway
    }

    /// The subnet the address is in, as `IPv4SubnetCIDRBlock` gives it (`172.17.0.0/16`).
    public var subnetCIDRBlock: String? {
        guard let ipv4Address, let ipv4PrefixLength, (0...32).contains(ipv4PrefixLength) else { return nil }
        let octets = ipv4Address.split(separator: ".").compactMap { UInt32($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 < 256 }) else { return nil }
        let address = octets.reduce(0) { $0 << 8 | $1 }
        let mask: UInt32 = ipv4PrefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - ipv4PrefixLength)
        let network = address & mask
        return "\(network >> 24).\(network >> 16 & 255).\(network >> 8 & 255).\(network & 255)/\(ipv4PrefixLength)"
    }
}

extension DockerRuntime {
    /// Each Docker task has its own address on the bridge.
    public var sharedNetworkInterface: TaskNetworkInterface? { nil }

    /// The task's address on the Docker bridge: that of the container holding its network
    /// namespace (the pause container, or its only container).
    public func networkInterface(of container: any RunningContainer) async -> TaskNetworkInterface? {
        guard let facts = await Self.facts(ofContainer: container.runtimeID), let address = facts.ipv4Address else { return nil }
        return TaskNetworkInterface(ipv4Address: address, macAddress: facts.macAddress)
    }

    /// The engine's facts about container `id` (a full or short id), or nil when the engine
    /// does not answer or no longer has the container.
    /// `measuringStorage`: also how much it wrote (`writableLayerBytes`; slower).
    public static func facts(ofContainer id: String, measuringStorage: Bool = false) async -> DockerContainerFacts? {
        guard let engine = try? DockerEngine.fromEnvironment() else { return nil }
        return try? await Blocking.run { () -> DockerContainerFacts? in
            guard let container = inspect(engine, id, size: measuringStorage) else { return nil }
            var facts = DockerContainerFacts(imageID: container["Image"]?.stringValue)
            if measuringStorage { facts.writableLayerBytes = container["SizeRw"]?.intValue.map(Int64.init) }
            var holder = container
            if let mode = container["HostConfig"]?["NetworkMode"]?.stringValue, mode.hasPrefix("container:"),
                let pause = inspect(engine, String(mode.dropFirst("container:".count)))
            {
                holder = pause
            }
            if case let .object(networks)? = holder["NetworkSettings"]?["Networks"], let network = networks.first?.value {
                facts.ipv4Address = network["IPAddress"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                facts.ipv4PrefixLength = network["IPPrefixLen"]?.intValue
                facts.macAddress = network["MacAddress"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                facts.gateway = network["Gateway"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            }
            return facts
        }
    }

    /// Docker's stats of container `id`, the JSON Fargate's `/stats` returns: one sample
    /// with the one before it as `precpu_stats` (the engine takes ~1 s to gather both, as
    /// `docker stats --no-stream` does). Nil when the engine does not answer or no longer
    /// has the container.
    public static func stats(ofContainer id: String) async -> JSONValue? {
        guard let engine = try? DockerEngine.fromEnvironment() else { return nil }
        return try? await Blocking.run { () -> JSONValue? in
            guard let r = try? engine.request("GET", "/containers/\(id)/stats?stream=false", timeout: 15), r.status == 200 else { return nil }
            return try? JSONParser.parse(r.body)
        }
    }

    private static func inspect(_ engine: DockerEngine, _ id: String, size: Bool = false) -> JSONValue? {
        guard let r = try? engine.request("GET", "/containers/\(id)/json" + (size ? "?size=1" : ""), timeout: 10), r.status == 200 else { return nil }
        return try? JSONParser.parse(r.body)
    }
}
