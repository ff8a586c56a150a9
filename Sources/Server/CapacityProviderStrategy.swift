import ECSModel

/// RunTask's `capacityProviderStrategy`, checked as ECS checks it against a cluster whose
/// providers are Fargate's own (`FARGATE`, `FARGATE_SPOT`), and spread over the tasks
/// launched as ECS spreads them: each provider's `base` first, then by `weight`.
enum CapacityProviderStrategy {
    static let fargateProviders = ["FARGATE", "FARGATE_SPOT"]

    /// The provider of each of the `count` tasks, in order; nil when no strategy was given.
    static func assign(_ value: JSONValue?, launchType: String?, count: Int) throws(APIError) -> [String]? {
        guard let value, value != .null else { return nil }
        guard case let .array(items) = value else {
            throw APIError.invalidParameter("capacityProviderStrategy must be a list.")
        }
        guard !items.isEmpty else { return nil }
        guard launchType == nil else {
            throw APIError.invalidParameter("Specifying both a launch type and capacity provider strategy is not supported.")
        }
        var entries: [(name: String, weight: Int, base: Int)] = []
        for (i, item) in items.enumerated() {
            guard let name = item["capacityProvider"]?.stringValue, !name.isEmpty else {
                throw APIError.invalidParameter("capacityProviderStrategy[\(i)].capacityProvider is required.")
            }
            guard fargateProviders.contains(name) else {
                throw APIError.invalidParameter(
                    "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."
                )
            }
            guard !entries.contains(where: { $0.name == name }) else {
                throw APIError.invalidParameter("The specified capacity provider strategy cannot contain duplicate capacity providers.")
            }
            let weight = item["weight"]?.intValue ?? 0
            let base = item["base"]?.intValue ?? 0
            guard (0...1000).contains(weight) else { throw APIError.invalidParameter("capacityProviderStrategy[\(i)].weight must be between 0 and 1000.") }
            guard (0...100_000).contains(base) else { throw APIError.invalidParameter("capacityProviderStrategy[\(i)].base must be between 0 and 100000.") }
            entries.append((name, weight, base))
        }
        guard entries.filter({ $0.base > 0 }).count <= 1 else {
            throw APIError.invalidParameter("The specified capacity provider strategy cannot specify a base value for more than one capacity provider.")
        }
        // A provider of weight 0 places no task beyond its base; one alone takes them all.
        if entries.count == 1 && entries[0].weight == 0 { entries[0].weight = 1 }
        guard entries.contains(where: { $0.weight > 0 }) else {
            throw APIError.invalidParameter(
                "The specified capacity provider strategy must contain at least one capacity provider with a weight greater than zero.")
        }
        var based = Array(repeating: 0, count: entries.count)
        var weighted = based
        var out: [String] = []
        for _ in 0..<count {
            let i: Int
            if let b = entries.indices.first(where: { entries[$0].base > based[$0] }) {
                i = b
                based[i] += 1
            } else {
                // The provider furthest below its share of the weight (the first, on a tie).
                let furthestBelow = entries.indices.filter { entries[$0].weight > 0 }.min { a, b in
                    weighted[a] * entries[b].weight < weighted[b] * entries[a].weight
                }
                // The guard above keeps at least one provider of positive weight.
                guard let furthestBelow else { break }
                i = furthestBelow
                weighted[i] += 1
            }
            out.append(entries[i].name)
        }
        return out
    }
}
