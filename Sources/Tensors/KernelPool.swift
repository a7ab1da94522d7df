import CKernels
import Foundation
import Synchronization

/// A persistent pool of kernel threads that runs the parallel parts of a
/// forward pass (matrix products, attention heads); never the Swift
/// cooperative pool and never a thread per op.
///
/// `parallelFor` is synchronous: the calling thread works too, and the call
/// returns when every task has run. Calls must not overlap on one pool (one
/// pool per worker; the worker's engine loop is its only caller).
///
/// A forward pass issues hundreds of `parallelFor` calls in a row, so idle
/// threads spin for `spinIterations` pause-loops (about 50-100 µs) before
/// sleeping on the condition: a job published while they spin starts without
/// a futex wake-up.
public final class KernelPool: @unchecked Sendable {
    /// Threads that execute tasks, the caller included.
    public let numThreads: Int
    private let condition = NSCondition()
    /// Bumped (under `condition`) each time a job is published; read lock-free while spinning.
    private let generation = Atomic<UInt64>(0)
    /// Pause-loop iterations an idle thread spins before it sleeps.
    private let spinIterations: Int
    private var currentJob: Job?  // guarded by condition
    private var isShuttingDown = false  // guarded by condition

    /// Device numerics for `MatMul.linear` on this pool (nil = plain f32, the
    /// CPU worker). When set (the simulated NPU sets bf16 or f16), every linear
    /// rounds its input and weights to this type, accumulates in f32 and rounds
    /// its output, as a cube unit does. Set it once, before the first call.
    public var matmulRounding: DType?
    /// bf16 activations (`--activations bf16`, the daemon's default; off here, so the library
    /// computes in f32 unless asked): against bf16 weights, `MatMul.linear` rounds x to bf16
    /// (nearest even) and runs AVX-512 BF16's `vdpbf16ps`, twice the f32 FMA's rate, as
    /// llama.cpp does; products stay exact and sums f32. Off, x stays f32 (the reference
    /// tests' 1e-4 bound). CPUs without AVX-512 BF16 get the same rounding on the f32 kernels.
    /// Set it once, before the first call.
    public var bf16Activations = false
    /// True while `MatMul.linearRoundingToDevice` runs its inner kernel (one
    /// caller per pool, so no lock is needed).
    var isInsideMatMulRounding = false
    /// Weights converted to `matmulRounding` once, by tensor address.
    let deviceWeights = DeviceWeightCache()

    /// One `parallelFor` call. Each thread first claims the tasks of its own contiguous share
    /// (thread t of T: tasks t·count/T ..< (t+1)·count/T), in order, then those left in the
    /// others' shares: a thread's matrix rows are then one stream through memory, where
    /// threads claiming from one counter took every other task. Q4_0 decode's tasks of 81 KB of
    /// W, two threads (C harness): 39.5-41.0 -> 44.8-45.1 GB/s; ModelBench Q4_0 at 2 threads (66-73
    /// GB/s window): one sequence 77-79 -> 86-89 tok/s, 16 sequences 369-380 -> 401-410.
    private final class Job: @unchecked Sendable {
        let body: (Int) -> Void
        let shares: [Share]
        let done = Atomic<Int>(0)

        final class Share: Sendable {
            let next: Atomic<Int>
            let end: Int
            init(start: Int, end: Int) {
                next = Atomic(start)
                self.end = end
            }
        }

        init(body: @escaping (Int) -> Void, count: Int, threads: Int) {
            self.body = body
            shares = (0..<threads).map { Share(start: $0 * count / threads, end: ($0 + 1) * count / threads) }
        }

        /// Runs tasks for thread `thread` (0, the caller, ..< the pool's numThreads) until none are left.
        func runAvailable(thread: Int) {
            for s in 0..<shares.count {
                let share = shares[(thread + s) % shares.count]
                while true {
                    let i = share.next.add(1, ordering: .relaxed).oldValue
                    if i >= share.end { break }
                    body(i)
                    done.add(1, ordering: .releasing)
                }
            }
        }
    }

    /// `numThreads` defaults to the number of active processors; `spinIterations`
    /// (default 2 000 `pause` instructions: ~50 µs on Zen 3, ~90 µs on recent
    /// Intel cores) is how long idle threads poll before sleeping.
    public init(numThreads: Int = ProcessInfo.processInfo.activeProcessorCount, spinIterations: Int = 2_000) {
        self.numThreads = max(1, numThreads)
        self.spinIterations = max(0, spinIterations)
        for index in 1..<self.numThreads {
            // Threads hold the pool strongly: it lives until `shutdown()` lets them exit,
            // so a pool can never be freed under a running thread.
            let thread = Thread { [self] in self.workerLoop(thread: index) }
            thread.name = "pangu-kernel-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Stops the worker threads (they exit when they next wake) and so releases the pool.
    public func shutdown() {
        condition.lock()
        isShuttingDown = true
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `body(0..<count)` across the pool and returns when all are done.
    public func parallelFor(_ count: Int, _ body: @escaping (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || numThreads == 1 {
            for i in 0..<count { body(i) }
            return
        }
        let job = Job(body: body, count: count, threads: numThreads)
        condition.lock()
        currentJob = job
        generation.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
        job.runAvailable(thread: 0)
        while job.done.load(ordering: .acquiring) < count { sched_yield() }
        condition.lock()
        currentJob = nil
        condition.unlock()
    }

    /// Fewest activation rows per range for the row-wise steps between products (norms, rotary, SwiGLU,
    /// quantizing x): a 16-sequence decode step's rows already go to two threads, where one thread
    /// left the others waiting (Q4_0, 16 sequences at 2 threads: +3.5-8 %, 5 runs each).
    public static let minRowsPerRange = 8

    /// Splits `0..<total` into about `numThreads × 4` contiguous ranges and runs them in parallel.
    public func parallelRanges(_ total: Int, minChunk: Int = 1, _ body: @escaping (Range<Int>) -> Void) {
        let numChunks = max(1, min(numThreads * 4, total / max(minChunk, 1)))
        let chunk = (total + numChunks - 1) / numChunks
        parallelFor(numChunks) { c in
            let start = c * chunk
            let end = min(total, start + chunk)
            if start < end { body(start..<end) }
        }
    }

    private func workerLoop(thread: Int) {
        var seen: UInt64 = 0
        while true {
            var spins = 0
            while spins < spinIterations && generation.load(ordering: .acquiring) == seen {
                pg_cpu_relax()
                spins += 1
            }
            condition.lock()
            while generation.load(ordering: .relaxed) == seen && !isShuttingDown { condition.wait() }
            if isShuttingDown {
                condition.unlock()
                return
            }
            seen = generation.load(ordering: .relaxed)
            let job = currentJob
            condition.unlock()
            job?.runAvailable(thread: thread)
        }
    }
}
