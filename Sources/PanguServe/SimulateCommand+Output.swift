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
        let cards =
            g.tensorParallelSize > 1 ? "\(g.tensorParallelSize) × \(g.profile.name) (tensor parallel)" : g.profile.name
        let rows: [(String, String)] = [
            ("devices", cards),
            (
                "workload",
                "\(w.numRequests) requests, \(w.inputLen) in / \(w.outputLen) out, concurrency \(w.concurrency)"
            ),
            (
                "KV cache",
                "\(result.numKVBlocks) blocks × \(result.blockSize) tokens (\(result.numKVBlocks * result.blockSize) tokens)"
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
            ),
            (
                "output tokens/s",
                String(format: "%.0f total, %.0f per card", r.outputTokensPerSecond, r.outputTokensPerSecondPerCard)
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

    static func json(_ result: Result) -> String {
        let r = result.report
        func summary(_ s: NPUSimulationReport.Summary) -> [String: Double] {
            ["mean_ms": s.mean * 1000, "p50_ms": s.p50 * 1000, "p99_ms": s.p99 * 1000]
        }
        let object: [String: Any] = [
            "profile": result.group.profile.name, "num_cards": result.group.tensorParallelSize,
            "input_len": result.workload.inputLen, "output_len": result.workload.outputLen,
            "concurrency": result.workload.concurrency, "num_requests": r.numRequests,
            "num_kv_blocks": result.numKVBlocks, "block_size": result.blockSize,
            "ttft": summary(r.timeToFirstToken), "tpot": summary(r.timePerOutputToken),
            "decode_step_ms": result.decodeStepSeconds * 1000,
            "output_tokens_per_second": r.outputTokensPerSecond,
            "output_tokens_per_second_per_card": r.outputTokensPerSecondPerCard,
            "simulated_seconds": r.simulatedSeconds, "num_steps": r.numSteps,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
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
