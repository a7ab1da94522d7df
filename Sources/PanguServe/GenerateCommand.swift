import Foundation
import Models
import Sampling
import Tensors
import Tokenizers

/// `pangu-serve generate`: runs one prompt through the inference core and
/// prints the continuation (streamed), or JSON for scripts.
enum GenerateCommand {
    static let specs: [OptionSpec] = [
        OptionSpec(
            name: "model", help: "model directory (config.json, safetensors, tokenizer) or .gguf file", unit: "path",
            defaultDescription: "the embedded pangu-tiny-shakespeare"),
        OptionSpec(
            name: "quantize",
            help:
                "none, q8_0 or q4_0 (quantize the projection matrices at load to Q8_0, about half of bf16's bytes, or Q4_0, about a quarter)",
            unit: "mode", defaultValue: "none"),
        ServeOptions.activations,
        OptionSpec(name: "prompt", help: "prompt text", unit: "text"),
        OptionSpec(name: "promptIds", help: "prompt as comma-separated token ids instead of text", unit: "ids"),
        OptionSpec(name: "maxTokens", help: "maximum number of generated tokens", unit: "tokens", defaultValue: "64"),
        OptionSpec(name: "temperature", help: "sampling temperature, 0 = greedy", unit: "float", defaultValue: "0"),
        OptionSpec(name: "topP", help: "nucleus sampling probability mass", unit: "float", defaultValue: "1"),
        OptionSpec(name: "topK", help: "keep the k most likely tokens, 0 = off", unit: "int", defaultValue: "0"),
        OptionSpec(name: "seed", help: "RNG seed (same seed, same tokens)", unit: "int"),
        OptionSpec(name: "ignoreEos", help: "keep generating past the end-of-sequence token", isSwitch: true),
        OptionSpec(
            name: "json", help: "print {\"prompt_ids\",\"ids\",\"text\"} instead of streaming text", isSwitch: true),
        OptionSpec(name: "threads", help: "kernel threads", unit: "int", defaultDescription: "all cores"),
        OptionSpec(
            name: "kvCacheDtype", help: "element type of the KV cache: f16, bf16 or f32", unit: "type",
            defaultValue: "f16"),
        OptionSpec(name: "help", help: "show this help", isSwitch: true),
    ]

    static func run(_ arguments: [String]) throws(CLIError) {
        let options = try OptionValues(arguments: arguments, specs: specs)
        if try options.bool("help") {
            print(
                OptionValues.help(
                    usage: "usage: pangu-serve generate [--model DIR] --prompt TEXT [options]", specs: specs))
            return
        }
        var params = SamplingParams()
        params.maxTokens = try options.int("maxTokens") ?? 64
        params.temperature = Float(try options.double("temperature") ?? 0)
        params.topP = Float(try options.double("topP") ?? 1)
        params.topK = try options.int("topK") ?? 0
        params.seed = try options.int("seed").map { UInt64(bitPattern: Int64($0)) }
        params.ignoreEOS = try options.bool("ignoreEos")
        do { try params.validate() } catch { throw CLIError(describe(error)) }

        let directory = try ModelDirectory.resolve(options.string("model"))
        let threads = try options.int("threads") ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 else { throw CLIError("invalid value for --threads: must be >= 1") }
        let quantization = try ServeConfig.quantization(options.string("quantize"))
        let kvCacheDType = try ServeConfig.kvCacheDType(options.string("kvCacheDtype"))
        let pool = KernelPool(numThreads: threads)
        pool.bf16Activations = try ServeConfig.bf16Activations(options.string("activations"))
        let model: any CausalLM
        let tokenizer: any Tokenizer
        do {
            model = try ModelLoader.load(directory: directory, pool: pool, quantization: quantization)
            tokenizer = try ModelDirectory.tokenizer(directory)
        } catch { throw CLIError("cannot load model from \(directory.path): \(error)") }

        let promptIDs = try promptIDs(options, tokenizer: tokenizer, vocabSize: model.config.vocabSize)
        let json = try options.bool("json")
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, contextIDs: promptIDs)
        let eos = model.config.eosTokenIDs.first ?? tokenizer.eosTokenID
        let ids = generate(
            model: model, promptIDs: promptIDs, params: params, eosTokenID: eos, kvCacheDType: kvCacheDType
        ) { id in
            if !json { emit(detokenizer.append([id])) }
        }
        if json {
            let text = tokenizer.decode(ids)
            let object: [String: Any] = ["prompt_ids": promptIDs, "ids": ids, "text": text]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        } else {
            emit(detokenizer.flush() + "\n")
        }
    }

    private static func emit(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    private static func describe(_ error: SamplingError) -> String {
        switch error {
        case .outOfRange(let param, let message):
            "invalid value for --\(OptionSpec.kebab(param.replacingOccurrences(of: "_", with: "-"))): \(message)"
        }
    }

    private static func promptIDs(_ options: OptionValues, tokenizer: any Tokenizer, vocabSize: Int) throws(CLIError)
        -> [Int]
    {
        if let raw = options.string("promptIds") {
            let ids = raw.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !ids.isEmpty, ids.allSatisfy({ $0 != nil }) else {
                throw CLIError("invalid value for --prompt-ids: '\(raw)' is not a comma-separated list of integers")
            }
            let values = ids.compactMap { $0 }
            if let bad = values.first(where: { $0 < 0 || $0 >= vocabSize }) {
                throw CLIError(
                    "invalid value for --prompt-ids: token id \(bad) is outside the vocabulary 0..<\(vocabSize)")
            }
            return values
        }
        guard let prompt = options.string("prompt") else { throw CLIError("give --prompt TEXT or --prompt-ids IDS") }
        let ids = tokenizer.encode(prompt)
        guard !ids.isEmpty else { throw CLIError("the prompt encodes to no tokens") }
        return ids
    }

    /// Greedy or sampled decoding of one sequence over a contiguous slice of the paged cache.
    static func generate(
        model: any CausalLM, promptIDs: [Int], params: SamplingParams, eosTokenID: Int?, kvCacheDType: DType,
        onToken: (Int) -> Void
    ) -> [Int] {
        let vocab = model.config.vocabSize
        let maxLength = min(promptIDs.count + params.maxTokens, model.config.maxPositionEmbeddings)
        let blockSize = 16
        let numBlocks = max(1, (maxLength + blockSize - 1) / blockSize)
        let cache = PagedKVCache(config: model.config, numBlocks: numBlocks, blockSize: blockSize, dtype: kvCacheDType)
        let blockTable = Array(0..<numBlocks)
        var sampler = Sampler(params: params, promptTokenIDs: promptIDs, eosTokenID: eosTokenID)
        var output: [Int] = []
        var pending = promptIDs
        var position = 0
        while output.count < params.maxTokens, position + pending.count <= maxLength {
            var batch = ForwardBatch()
            batch.append(tokens: pending, startPosition: position, blockTable: blockTable, blockSize: blockSize)
            position += pending.count
            var logits = model.forward(batch, cache: cache)
            let token = logits.withUnsafeMutableBufferPointer { sampler.sample(logits: $0).tokenID }
            precondition(token >= 0 && token < vocab, "sampler returned an id outside the vocabulary")
            output.append(token)
            onToken(token)
            let isStop = token == eosTokenID || params.stopTokenIDs.contains(token)
            if isStop && !params.ignoreEOS && output.count >= params.minTokens { break }
            pending = [token]
        }
        return output
    }
}
