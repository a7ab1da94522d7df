import CKernels
import Foundation
import Tensors

/// This machine's ceilings for a thread count, measured in the same run as the
/// model: streaming-read bandwidth (decode's limit) and the peak rate of the dot
/// products the weights use (prefill's limit): f32 FMA, or for the types with
/// integer kernels the int8 multiply-add (AVX2's `vpmaddubsw` into 16-bit sums, or
/// AVX-512 VNNI's `vpdpbusd`), each on the widest registers the CPU has. Each the
/// best of several repetitions.
struct MachineCeilings {
    let numThreads: Int
    /// Bytes per second of a large streaming read by all threads.
    let bandwidth: Double
    /// FLOP/s of register-only FMA chains (2 FLOPs per lane; `pg_fma_peak_loop`), summed over the threads.
    let peakFLOPS: Double
    /// The same two ceilings from CPU time (see `Timing`): what idle cores would reach.
    let cpuBandwidth: Double
    let cpuPeakFLOPS: Double
    /// Operations/s (2 per multiply-add) of int8 multiply-adds (`pg_int8_dot_peak_loop`), wall and CPU.
    let peakInt8OPS: Double
    let cpuPeakInt8OPS: Double
    /// The same for AMX's `tdpbssd` and `tdpbf16ps` (`pg_amx_int8_peak_loop`, `pg_amx_bf16_peak_loop`)
    /// where the AMX kernels run, else 0.
    let peakAMXInt8OPS: Double
    let peakAMXBF16FLOPS: Double

    /// A buffer far larger than the last-level cache, shared by every measurement.
    static let streamBuffer = HeapStorage(byteCount: 1 << 30)

    static func measure(pool: KernelPool, repetitions: Int) -> MachineCeilings {
        let read = bandwidth(pool: pool, repetitions: max(repetitions, 5))
        let fma = peak(pool: pool, repetitions: max(repetitions, 10), loop: pg_fma_peak_loop)
        let int8 = peak(pool: pool, repetitions: max(repetitions, 10), loop: pg_int8_dot_peak_loop)
        let amx = pg_has_amx() != 0
        let amxInt8 = amx ? peak(pool: pool, repetitions: 3, loop: pg_amx_int8_peak_loop).wall : 0
        let amxBF16 = amx ? peak(pool: pool, repetitions: 3, loop: pg_amx_bf16_peak_loop).wall : 0
        return MachineCeilings(
            numThreads: pool.numThreads, bandwidth: read.wall, peakFLOPS: fma.wall, cpuBandwidth: read.cpu,
            cpuPeakFLOPS: fma.cpu, peakInt8OPS: int8.wall, cpuPeakInt8OPS: int8.cpu, peakAMXInt8OPS: amxInt8,
            peakAMXBF16FLOPS: amxBF16)
    }

    /// Best bytes/s (wall, CPU) of `repetitions` streaming reads of `streamBuffer` by all threads.
    static func bandwidth(pool: KernelPool, repetitions: Int) -> (wall: Double, cpu: Double) {
        let threads = pool.numThreads
        let buffer = streamBuffer
        let slice = buffer.byteCount / threads / 64 * 64
        var read = Timing()
        for _ in 0..<repetitions {
            read.measure(numThreads: threads) {
                pool.parallelFor(threads) { t in
                    _ = pg_stream_read(UnsafeRawPointer(buffer.pointer + t * slice), slice)
                }
            }
        }
        let bytes = Double(slice * threads)
        return (bytes / read.wall, bytes / read.cpu)
    }

    /// Best rate of a register-only `loop` (which returns the operations it ran) over the threads.
    /// Throughput is per core (nothing shared), so the peak is the sum of each task's own rate:
    /// a task that starts late (or runs after the other on the same thread when a wake-up is
    /// slow) cannot understate it.
    static func peak(
        pool: KernelPool, repetitions: Int, loop: @convention(c) (Int64) -> Double
    ) -> (wall: Double, cpu: Double) {
        let threads = pool.numThreads
        let iterations: Int64 = 20_000_000
        let rates = UnsafeMutablePointer<(wall: Double, cpu: Double)>.allocate(capacity: threads)
        defer { rates.deallocate() }
        var best = (wall: 0.0, cpu: 0.0)
        for _ in 0..<repetitions {
            pool.parallelFor(threads) { t in
                let (wall0, cpu0) = (Clock.now(), Clock.threadCPU())
                let operations = loop(iterations)
                rates[t] = (operations / (Clock.now() - wall0), operations / (Clock.threadCPU() - cpu0))
            }
            best.wall = max(best.wall, (0..<threads).reduce(0.0) { $0 + rates[$1].wall })
            best.cpu = max(best.cpu, (0..<threads).reduce(0.0) { $0 + rates[$1].cpu })
        }
        return best
    }
}

/// Wall-clock seconds (monotonic) and this process's CPU seconds.
enum Clock {
    static func now() -> Double { read(CLOCK_MONOTONIC) }
    static func cpu() -> Double { read(CLOCK_PROCESS_CPUTIME_ID) }
    static func threadCPU() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> Double {
        var t = timespec()
        clock_gettime(clock, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// Best-of-N durations of one measurement: wall-clock seconds, and CPU
/// seconds divided by the thread count (what the wall time would be on
/// otherwise idle cores; includes the pool's spinning, so it is conservative).
struct Timing {
    var wall = Double.infinity
    var cpu = Double.infinity

    mutating func measure(numThreads: Int, divisor: Double = 1, _ body: () -> Void) {
        let (wall0, cpu0) = (Clock.now(), Clock.cpu())
        body()
        wall = min(wall, (Clock.now() - wall0) / divisor)
        cpu = min(cpu, (Clock.cpu() - cpu0) / Double(numThreads) / divisor)
    }
}

/// The ceilings read again just before each repetition of one model measurement, so
/// each figure is set against what the machine gave in the same seconds: the other
/// virtual machines on the host move the bandwidth and compute rates by 20-30 % within
/// minutes, and the ceilings from the start of the run can be from a quieter or a busier
/// moment than the measurement. Best of the window, like the measurement itself.
final class CeilingWindow {
    private let pool: KernelPool
    /// The register-only loop of the dot products the measured pass runs (FMA or int8).
    private let loop: @convention(c) (Int64) -> Double
    private(set) var bandwidth = (wall: 0.0, cpu: 0.0)
    private(set) var peak = (wall: 0.0, cpu: 0.0)

    init(pool: KernelPool, loop: @convention(c) (Int64) -> Double) {
        self.pool = pool
        self.loop = loop
    }

    func sample() {
        let read = MachineCeilings.bandwidth(pool: pool, repetitions: 2)
        let rate = MachineCeilings.peak(pool: pool, repetitions: 2, loop: loop)
        bandwidth = (max(bandwidth.wall, read.wall), max(bandwidth.cpu, read.cpu))
        peak = (max(peak.wall, rate.wall), max(peak.cpu, rate.cpu))
    }
}
