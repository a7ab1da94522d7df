import Foundation

/// One entry of `--devices`: what kind of worker to create and how many.
///
/// Grammar: a comma-separated list of `cpu`, `cpu:N` (N CPU workers splitting
/// the cores as data-parallel replicas), `npu:<profile>` (one simulated Ascend
/// card, e.g. `npu:910B3`) and `npu:<profile>x<N>` (a tensor-parallel group of
/// N cards serving as one worker, e.g. `npu:910B2x4`).
enum DeviceSpec: Equatable {
    case cpu(count: Int)
    case npu(profile: String, numCards: Int)

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
            case "npu":
                specs.append(try parseNPU(raw.trimmingCharacters(in: .whitespaces)))
            default:
                throw CLIError(
                    "invalid value for --devices: unknown device '\(item)' (known: cpu, cpu:N, npu:PROFILE, npu:PROFILExN)"
                )
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
            case .npu: total + 1
            }
        }
    }

    /// `npu:<profile>` or `npu:<profile>x<N>`; the profile keeps its spelling
    /// (lookup in the chip catalog ignores case).
    private static func parseNPU(_ item: String) throws(CLIError) -> DeviceSpec {
        let body = String(item.dropFirst("npu:".count))
        var profile = body
        var numCards = 1
        if let x = body.lastIndex(where: { $0 == "x" || $0 == "X" }), body.index(after: x) < body.endIndex,
            let count = Int(body[body.index(after: x)...])
        {
            profile = String(body[..<x])
            numCards = count
        }
        guard item.lowercased().hasPrefix("npu:"), !profile.isEmpty, numCards >= 1 else {
            throw CLIError("invalid value for --devices: '\(item)' (expected npu:PROFILE or npu:PROFILExN with N >= 1)")
        }
        return .npu(profile: profile, numCards: numCards)
    }

    /// One entry per worker, in order: `cpu:N` becomes N × `cpu:1`.
    static func workers(_ specs: [DeviceSpec]) -> [DeviceSpec] {
        specs.flatMap { spec -> [DeviceSpec] in
            if case .cpu(let count) = spec { return Array(repeating: .cpu(count: 1), count: count) }
            return [spec]
        }
    }
}
