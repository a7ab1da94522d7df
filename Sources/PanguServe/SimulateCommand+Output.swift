import Devices
import Foundation
import Tokenizers

/// Rendering a simulation as a table or JSON.
extension SimulateCommand {
    static func table(_ result: Result) -> String {
        let r = result.report
        let w = result.workload
        let g = result.group
        func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }
        let dp = result.numDataParallelRanks
        let rows: [(String, String)] = [
            ("devices", layout(result)),
            (
                "weights",
                "\(g.shape.weightDType == .int8 ? "W8A8 (int8)" : g.shape.weightDType.rawValue), \(String(format: "%.1f GiB", Double(g.memories[0].usedBytes - g.kvCacheBytesPerCard) / 1_073_741_824)) per card"
            ),
            (
                "workload",
                "\(w.numRequests * dp) requests, \(w.inputLen) in / \(w.outputLen) out, concurrency \(w.concurrency * dp)"
                    + (dp > 1 ? " (\(w.concurrency) per card)" : "")
            ),
            (
                "KV cache",
                "\(result.numKVBlocks) blocks × \(result.blockSize) tokens (\(result.numKVBlocks * result.blockSize) tokens)"
                    + (dp > 1 ? " per card" : "")
            ),
            (
                "TTFT mean / p50 / p99",
                "\(ms(r.timeToFirstToken.mean)) / \(ms(r.timeToFirstToken.p50)) / \(ms(r.timeToFirstToken.p99))"
            ),
            (
                "TPOT mean / p50 / p99",
                "\(ms(r.timePerOutputToken.mean)) / \(ms(r.timePerOutputToken.p50)) / \(ms(r.timePerOutputToken.p99))"
            ),
            (
                "decode step (estimator)",
                "\(ms(result.decodeStepSeconds)) at batch \(min(w.concurrency, w.numRequests))"
                    + (dp > 1 ? " per card" : "")
            ),
            (
                "output tokens/s",
                String(
                    format: "%.0f total, %.0f per card", result.outputTokensPerSecond,
                    result.outputTokensPerSecondPerCard)
            ),
            (
                "pure decode tokens/s",
                String(
                    format: "%.0f per card (estimator, batch above, no prefill)", result.decodeTokensPerSecondPerCard)
            ),
            (
                "pure prefill tokens/s",
                String(
                    format: "%.0f input tokens per card (estimator, %d-token step)",
                    result.prefillTokensPerSecondPerCard,
                    max(result.setup.maxNumBatchedTokens / min(w.inputLen, result.setup.maxNumBatchedTokens), 1)
                        * min(w.inputLen, result.setup.maxNumBatchedTokens))
            ),
            (
                "simulated time",
                String(
                    format: "%.3f s in %d steps, %.1f running per step", r.simulatedSeconds, r.numSteps,
                    r.meanNumRunning)
            ),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n")
    }

    /// "8 × 910B2 (attention tp, experts expert-parallel)".
    static func layout(_ result: Result) -> String {
        let name = result.group.profile.name
        guard result.numCards > 1 else { return name }
        let attention = result.numDataParallelRanks > 1 ? "data parallel" : "tensor parallel"
        let experts = result.setup.enableExpertParallel ? ", experts expert-parallel" : ""
        return "\(result.numCards) × \(name) (attention \(attention)\(experts))"
    }

    static func jsonObject(_ result: Result) -> [String: Any] {
        let r = result.report
        func summary(_ s: NPUSimulationReport.Summary) -> [String: Double] {
            ["mean_ms": s.mean * 1000, "p50_ms": s.p50 * 1000, "p99_ms": s.p99 * 1000]
        }
        let dp = result.numDataParallelRanks
        return [
            "profile": result.group.profile.name, "num_cards": result.numCards,
            "attention_parallel": result.setup.attentionParallel.rawValue,
            "expert_parallel": result.setup.enableExpertParallel,
            "weight_dtype": result.group.shape.weightDType.rawValue,
            "input_len": result.workload.inputLen, "output_len": result.workload.outputLen,
            "concurrency": result.workload.concurrency * dp, "num_requests": r.numRequests * dp,
            "num_kv_blocks": result.numKVBlocks, "block_size": result.blockSize,
            "ttft": summary(r.timeToFirstToken), "tpot": summary(r.timePerOutputToken),
            "decode_step_ms": result.decodeStepSeconds * 1000,
            "output_tokens_per_second": result.outputTokensPerSecond,
            "output_tokens_per_second_per_card": result.outputTokensPerSecondPerCard,
            "decode_tokens_per_second_per_card": result.decodeTokensPerSecondPerCard,
            "prefill_tokens_per_second_per_card": result.prefillTokensPerSecondPerCard,
            "simulated_seconds": r.simulatedSeconds, "num_steps": r.numSteps,
        ]
    }

    static func json(_ result: Result) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: jsonObject(result), options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A tokenizer with no text for the timing-only engine: every id decodes to
/// nothing, nothing is special, and there is no EOS.
struct SimulationTokenizer: Tokenizer {
    let vocabSize: Int
    var bosTokenID: Int? { nil }
    var eosTokenID: Int? { nil }
    var addsBOS: Bool { false }
    func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool) -> [Int] { [] }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
    func piece(for id: Int) -> String? { "" }
    func id(forPiece piece: String) -> Int? { nil }
    func isSpecial(_ id: Int) -> Bool { false }
}
