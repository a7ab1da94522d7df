import Engine
import Models
import Sampling
import Tensors

/// A device worker that runs the inference core on host CPU cores: the
/// engine hands it each step's `SchedulerOutput`, it runs one batched forward
/// pass over its paged KV cache and samples each request with its own sampler.
///
/// Owned and called by exactly one engine loop thread (see `Worker`), so its
/// state needs no locks. Several CPU workers can share one checkpoint: each
/// maps the same file (shared page cache) and has its own kernel pool and cache.
public final class CPUWorker: Worker {
    public let info: WorkerInfo
    let runner: ModelRunner

    /// `numBlocks × blockSize` KV slots per layer, in `kvCacheDType` (f32, f16 or bf16).
    public init(
        name: String, model: any CausalLM, numBlocks: Int, blockSize: Int, kvCacheDType: DType = .f32, numThreads: Int
    ) {
        info = WorkerInfo(name: name, kind: "CPU (\(numThreads) threads)")
        runner = ModelRunner(model: model, numBlocks: numBlocks, blockSize: blockSize, kvCacheDType: kvCacheDType)
    }

    public func execute(_ schedulerOutput: SchedulerOutput) throws -> ModelRunnerOutput {
        try runner.execute(schedulerOutput)
    }
}

/// The device-independent half of a worker: keeps per-request state from the
/// scheduler's diffs, builds the batch (token ids, positions, slot mapping,
/// block tables), runs the model and samples. CPU and NPU workers share it.
final class ModelRunner {
    let model: any CausalLM
    let cache: PagedKVCache
    private var states = WorkerRequestStates()
    private var samplers: [String: Sampler] = [:]
    private let eosTokenID: Int?
    /// The chunks the last `execute` computed (the NPU worker times them).
    private(set) var lastChunks: [ScheduledChunk] = []

    init(model: any CausalLM, numBlocks: Int, blockSize: Int, kvCacheDType: DType) {
        self.model = model
        cache = PagedKVCache(config: model.config, numBlocks: numBlocks, blockSize: blockSize, dtype: kvCacheDType)
        eosTokenID = model.config.eosTokenIDs.first
    }

    /// Builds the forward batch of a step: one sequence per scheduled chunk.
    static func batch(of chunks: [ScheduledChunk], blockSize: Int) -> ForwardBatch {
        var batch = ForwardBatch()
        for chunk in chunks {
            batch.append(
                tokens: chunk.tokenIDs, startPosition: chunk.startPosition, blockTable: chunk.blockTable,
                blockSize: blockSize,
                wantLogits: !chunk.samplesToken ? .none : chunk.draftTokenIDs.isEmpty ? .last : .all)
        }
        return batch
    }

    func execute(_ schedulerOutput: SchedulerOutput) throws -> ModelRunnerOutput {
        for id in schedulerOutput.finishedRequestIDs { samplers[id] = nil }
        let chunks = try states.apply(schedulerOutput).filter { !$0.tokenIDs.isEmpty }
        lastChunks = chunks
        if chunks.isEmpty { return .empty }
        let batch = Self.batch(of: chunks, blockSize: cache.blockSize)
        var logits = model.forward(batch, cache: cache)
        let vocab = model.config.vocabSize
        var output = ModelRunnerOutput()
        var row = 0
        for chunk in chunks where chunk.samplesToken {
            // Row i predicts the token after draft i (row 0: after the last known token). A draft stands while
            // the sample at its position equals it; sampling from the model's own distribution and keeping
            // the draft only on a match is exact speculative sampling for a draft that is a single token.
            var tokens: [Int] = []
            var logprobs: [SampleLogprob] = []
            for draftIndex in 0...chunk.draftTokenIDs.count {
                let sampled = logits.withUnsafeMutableBufferPointer { all in
                    let slice = UnsafeMutableBufferPointer(
                        rebasing: all[(row + draftIndex) * vocab..<(row + draftIndex + 1) * vocab])
                    return sample(chunk.requestID, logits: slice)
                }
                states.append(sampled.tokenID, to: chunk.requestID)
                tokens.append(sampled.tokenID)
                if let l = sampled.logprobs {
                    logprobs.append(
                        SampleLogprob(
                            tokenID: l.sampled.tokenID, logprob: l.sampled.logprob,
                            topLogprobs: l.top.map { TopLogprob(tokenID: $0.tokenID, logprob: $0.logprob) }))
                }
                if draftIndex == chunk.draftTokenIDs.count || sampled.tokenID != chunk.draftTokenIDs[draftIndex] {
                    break
                }
            }
            row += 1 + chunk.draftTokenIDs.count
            output.sampledTokenIDs[chunk.requestID] = tokens
            if !logprobs.isEmpty { output.logprobs[chunk.requestID] = logprobs }
        }
        return output
    }

    /// Samples with the request's own sampler, created on its first sample
    /// and kept across preemption so a seeded request draws the same tokens.
    private func sample(_ requestID: String, logits: UnsafeMutableBufferPointer<Float>) -> SampledToken {
        if samplers[requestID] == nil, let state = states[requestID] {
            samplers[requestID] = Sampler(
                params: state.samplingParams, promptTokenIDs: state.tokenIDs.prefix(state.numPromptTokens),
                eosTokenID: eosTokenID, outputTokenIDs: Array(state.outputTokenIDs))
        }
        guard var sampler = samplers[requestID] else { preconditionFailure("sampling an unknown request") }
        let token = sampler.sample(logits: logits)
        samplers[requestID] = sampler
        return token
    }
}
