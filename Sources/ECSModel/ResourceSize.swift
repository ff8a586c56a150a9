/// Parses task-level `cpu` and `memory` as ECS accepts them on input:
/// `"1024"`, `"1 vCPU"`, `"0.25 vcpu"` (CPU units) and `"2048"`, `"2 GB"`, `"0.5GB"` (MiB).
public enum ResourceSize {
    /// CPU units (1024 per vCPU), or nil when the text is not a CPU amount.
    public static func cpuUnits(_ text: String) -> Int? {
        let t = text.trimmingWhitespace().lowercased()
        if let n = Int(t) { return n }
        for suffix in ["vcpus", "vcpu"] where t.hasSuffix(suffix) {
            let number = String(t.dropLast(suffix.count)).trimmingWhitespace()
            if let v = Double(number), v > 0 {
                let units = v * 1024
                return units == units.rounded() ? Int(units) : nil
            }
        }
        return nil
    }

    /// Memory in MiB, or nil when the text is not a memory amount.
    public static func memoryMiB(_ text: String) -> Int? {
        let t = text.trimmingWhitespace().lowercased()
        if let n = Int(t) { return n }
        for (suffix, factor) in [("gib", 1024.0), ("gb", 1024.0), ("mib", 1.0), ("mb", 1.0)] where t.hasSuffix(suffix) {
            let number = String(t.dropLast(suffix.count)).trimmingWhitespace()
            if let v = Double(number), v > 0 {
                let mib = v * factor
                return mib == mib.rounded() ? Int(mib) : nil
            }
        }
        return nil
    }

    /// The memory sizes (MiB) Fargate accepts for a task-level CPU value, or nil for an invalid CPU.
    public static func fargateMemoryChoices(forCPU cpu: Int) -> [Int]? {
        switch cpu {
        case 256: return [512, 1024, 2048]
        case 512: return Array(stride(from: 1024, through: 4096, by: 1024))
        case 1024: return Array(stride(from: 2048, through: 8192, by: 1024))
        case 2048: return Array(stride(from: 4096, through: 16384, by: 1024))
        case 4096: return Array(stride(from: 8192, through: 30720, by: 1024))
        case 8192: return Array(stride(from: 16384, through: 61440, by: 4096))
        case 16384: return Array(stride(from: 32768, through: 122880, by: 8192))
        default: return nil
        }
    }

    /// `"512, 1024, 2048"` or `"4096 to 16384 in steps of 1024"`.
    public static func describeChoices(_ choices: [Int]) -> String {
        if choices.count <= 3 { return choices.map(String.init).joined(separator: ", ") }
        return "\(choices[0]) to \(choices[choices.count - 1]) in steps of \(choices[1] - choices[0])"
    }
}
