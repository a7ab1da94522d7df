// ModelBench: prefill and decode throughput of a model (checkpoint directory or .gguf file) as fractions
// of this machine's ceilings (memory bandwidth, peak FMA or int8 dot-product rate), read again
// between the repetitions of each measurement. Build and run in release:
//
//   swift build -c release --product ModelBench
//   .build/release/ModelBench /tmp/pangu-1b-random|FILE.gguf [--threads 1,2] [--prompt 512]
//       [--batches 1,4,16] [--context 16] [--steps 4] [--reps 2] [--quantize q8_0|q4_0]
//       [--kv-cache-dtype f16|bf16|f32] [--activations bf16|f32] [--kernels]
import CKernels
import Foundation
import Models
import Tensors

struct Options {
    var directory = ""
    var threads = [1, 2]
    var promptLength = 512
    var batches = [1, 4, 16]
    var context = 16
    var steps = 4
    var repetitions = 2
    var kernels = false
    var skipPrefill = false
    var quantization = WeightQuantization.none
    var kvCacheDType = DType.f16
    var bf16Activations = true  // `--activations`, as `serve`

    static func parse(_ arguments: [String]) -> Options? {
        var o = Options()
        var rest = arguments.dropFirst()
        func list(_ s: String?) -> [Int]? { s?.split(separator: ",").compactMap { Int($0) } }
        while let arg = rest.popFirst() {
            switch arg {
            case "--threads": o.threads = list(rest.popFirst()) ?? o.threads
            case "--prompt": o.promptLength = Int(rest.popFirst() ?? "") ?? o.promptLength
            case "--batches": o.batches = list(rest.popFirst()) ?? o.batches
            case "--context": o.context = Int(rest.popFirst() ?? "") ?? o.context
            case "--steps": o.steps = Int(rest.popFirst() ?? "") ?? o.steps
            case "--reps": o.repetitions = Int(rest.popFirst() ?? "") ?? o.repetitions
            case "--kernels": o.kernels = true
            case "--no-prefill": o.skipPrefill = true
            case "--activations":
                switch rest.popFirst() {
                case "bf16": o.bf16Activations = true
                case "f32": o.bf16Activations = false
                default: return nil
                }
            case "--kv-cache-dtype":
                guard let t = DType(rawValue: (rest.popFirst() ?? "").uppercased()),
                    DType.floatingPointCases.contains(t)
                else { return nil }
                o.kvCacheDType = t
            case "--quantize":
                guard let q = WeightQuantization(rawValue: rest.popFirst() ?? "") else { return nil }
                o.quantization = q
            default:
                if arg.hasPrefix("-") { return nil }
                o.directory = arg
            }
        }
        let sizes = [o.promptLength, o.context, o.steps, o.repetitions] + o.threads + o.batches
        guard sizes.allSatisfy({ $0 > 0 }), !o.threads.isEmpty, !o.batches.isEmpty else { return nil }
        return o.directory.isEmpty && !o.kernels ? nil : o
    }
}

guard let options = Options.parse(CommandLine.arguments) else {
    print("usage: ModelBench <model-dir|file.gguf> [--threads 1,2] [--prompt 512] [--batches 1,4,16] [--context 16]")
    print("                  [--steps 4] [--reps 2] [--quantize q8_0|q4_0] [--kv-cache-dtype f16|bf16|f32]")
    print("                  [--activations bf16|f32] [--kernels] [--no-prefill]")
    exit(2)
}

func percent(_ value: Double) -> String { String(format: "%.0f%%", 100 * value) }

/// Prints and flushes, so progress shows when the output goes to a file.
func print(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

print("Figures: best of N; `wall` = wall-clock, `cpu` = process CPU seconds / threads (what idle cores give).")
for numThreads in options.threads {
    let pool = KernelPool(numThreads: numThreads)
    pool.bf16Activations = options.bf16Activations
    let ceilings = MachineCeilings.measure(pool: pool, repetitions: options.repetitions)
    print(
        String(
            format: "== %d thread(s): bandwidth %.1f GB/s wall, %.1f GB/s cpu; peak FMA %.1f GFLOP/s wall, %.1f cpu; "
                + "peak int8 dot %.1f GOP/s wall, %.1f cpu",
            numThreads, ceilings.bandwidth / 1e9, ceilings.cpuBandwidth / 1e9, ceilings.peakFLOPS / 1e9,
            ceilings.cpuPeakFLOPS / 1e9, ceilings.peakInt8OPS / 1e9, ceilings.cpuPeakInt8OPS / 1e9)
            + (ceilings.peakAMXInt8OPS > 0
                ? String(
                    format: "; AMX int8 %.1f GOP/s, bf16 %.1f GFLOP/s wall (PANGU_KERNEL_ISA=amx)",
                    ceilings.peakAMXInt8OPS / 1e9, ceilings.peakAMXBF16FLOPS / 1e9) : ""))
    if options.kernels {
        KernelComparison(pool: pool).run(ceilings: ceilings, repetitions: max(options.repetitions, 3))
    }
    if options.directory.isEmpty { continue }
    let model: any CausalLM
    do {
        model = try ModelLoader.load(
            directory: URL(fileURLWithPath: options.directory), pool: pool, quantization: options.quantization)
    } catch {
        print("cannot load \(options.directory): \(error)")
        exit(1)
    }
    let runs = ModelRuns(model: model, kvCacheDType: options.kvCacheDType)
    // The ceilings of a pass of this many rows, read again before each repetition: bandwidth, and
    // the peak of the dot products it runs or, for bf16 W, the bf16 format allows (`vdpbf16ps` on
    // AVX-512 BF16, with x rounded to bf16 by --activations bf16, else the FMA's).
    func window(numRows: Int) -> (ceiling: CeilingWindow, peakName: String) {
        if runs.usesIntegerDots(numRows: numRows) {
            return (CeilingWindow(pool: pool, loop: pg_int8_dot_peak_loop), "int8-dot")
        }
        if model.projectionDType == .bf16 && pg_has_avx512_bf16() != 0 {
            return (CeilingWindow(pool: pool, loop: pg_bf16_dot_peak_loop), "bf16-dot")
        }
        return (CeilingWindow(pool: pool, loop: pg_fma_peak_loop), "FMA")
    }
    if !options.skipPrefill {
        let (ceiling, peakName) = window(numRows: options.promptLength)
        let time = runs.prefillSeconds(
            length: options.promptLength, repetitions: max(1, options.repetitions - 1), numThreads: numThreads,
            beforeEach: ceiling.sample)
        let flops = runs.prefillFLOPs(length: options.promptLength)
        let tokens = Double(options.promptLength)
        print(
            String(
                format:
                    "prefill %d: wall %.2f s %.1f tok/s %@ of %@ peak | cpu %.2f s %.1f tok/s %.1f GFLOP/s %@ of peak"
                    + " [peak in the same seconds: %.1f G/s wall, %.1f cpu]",
                options.promptLength, time.wall, tokens / time.wall, percent(flops / time.wall / ceiling.peak.wall),
                peakName, time.cpu, tokens / time.cpu, flops / time.cpu / 1e9,
                percent(flops / time.cpu / ceiling.peak.cpu), ceiling.peak.wall / 1e9, ceiling.peak.cpu / 1e9)
                + (peakName == "FMA"
                    ? "" : " | \(percent(flops / time.wall / (2 * ceilings.peakFLOPS))) of twice the FMA peak")
                + amxFraction(flops: flops, seconds: time.wall, ceilings: ceilings, integer: peakName == "int8-dot"))
    }
    for numSequences in options.batches {
        let (ceiling, peakName) = window(numRows: numSequences)
        let time = runs.decodeStepSeconds(
            numSequences: numSequences, context: options.context, steps: options.steps,
            repetitions: options.repetitions, numThreads: numThreads, beforeEach: ceiling.sample)
        print(decodeLine(runs: runs, numSequences: numSequences, time: time, ceiling: ceiling, peakName: peakName))
    }
    pool.shutdown()
}

// The prefill line's "of twice the FMA peak": the issue states the BF16 and VNNI dot products'
// ceiling as twice the f32 FMA rate. `vdpbf16ps` is that here; `vpdpbusd` measures 3.6-3.7
// times it on a Zen 5, and "of int8-dot peak" is against what it measures.

/// Where the AMX kernels run: a prefill's fraction of the AMX peak of its weights' product
/// (bf16 W takes 3 products per weight, one per bf16 part of x, so a third of that peak).
func amxFraction(flops: Double, seconds: Double, ceilings: MachineCeilings, integer: Bool) -> String {
    let peak = integer ? ceilings.peakAMXInt8OPS : ceilings.peakAMXBF16FLOPS / 3
    return peak > 0 ? " | \(percent(flops / seconds / peak)) of the AMX peak" : ""
}

/// Decode throughput against the step's ceiling: all weights read once (bandwidth), or the
/// batch's FLOPs at the weights' dot-product peak (wall, cpu), whichever is slower; both
/// ceilings as read between the repetitions (`CeilingWindow`).
func decodeLine(runs: ModelRuns, numSequences: Int, time: Timing, ceiling: CeilingWindow, peakName: String) -> String {
    let bytes = Double(runs.model.numWeightBytes)
    let flops = (runs.linearFLOPsPerToken + runs.lmHeadFLOPs) * Double(numSequences)
    func fractions(_ seconds: Double, bandwidth: Double, peak: Double) -> String {
        let memory = bytes / bandwidth
        let compute = flops / peak
        return String(
            format: "%.2f tok/s, %.1f GB/s = %@ of bandwidth, %@ of %@ ceiling", Double(numSequences) / seconds,
            bytes / seconds / 1e9, percent(memory / seconds), percent(max(memory, compute) / seconds),
            memory >= compute ? "memory" : "compute")
    }
    return String(format: "decode batch %2d: wall ", numSequences)
        + fractions(time.wall, bandwidth: ceiling.bandwidth.wall, peak: ceiling.peak.wall) + " | cpu "
        + fractions(time.cpu, bandwidth: ceiling.bandwidth.cpu, peak: ceiling.peak.cpu)
        + String(
            format: " [in the same seconds: %.1f GB/s, %@ %.1f G/s]", ceiling.bandwidth.wall / 1e9, peakName,
            ceiling.peak.wall / 1e9)
}
