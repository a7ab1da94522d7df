/// One entry of `--devices`: what kind of worker to create and how many.
///
/// Grammar: a comma-separated list of `cpu`, `cpu:N` (N CPU workers splitting
/// the cores as data-parallel replicas).
enum DeviceSpec: Equatable {
    case cpu(count: Int)

    static func parse(_ text: String) throws(CLIError) -> [DeviceSpec] {
        var specs: [DeviceSpec] = []
        for raw in text.split(separator: ",") {
            let item = raw.trimmingCharacters(in: .whitespaces).lowercased()
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            switch parts.first {
            case "cpu":
                let count = parts.count == 2 ? Int(parts[1]) : 1
                guard let count, count >= 1 else {
                    throw CLIError("invalid value for --devices: '\(item)' (expected cpu or cpu:N with N >= 1)")
                }
                specs.append(.cpu(count: count))
            default:
                throw CLIError("invalid value for --devices: unknown device '\(item)' (known: cpu, cpu:N)")
            }
        }
        guard !specs.isEmpty else { throw CLIError("invalid value for --devices: empty list") }
        return specs
    }

    /// Number of workers all entries create.
    static func numWorkers(_ specs: [DeviceSpec]) -> Int {
        specs.reduce(0) { total, spec in
            switch spec {
            case .cpu(let count): total + count
            }
        }
    }
}

import Foundation
