/// Whether a simulated NPU makes the host wait for the chip's time: with
/// `none` it only reports the simulated time; with `realtime` each step
/// lasts at least its simulated time in wall time, so clients see the
/// chip's latency. Raw values are the `--npu-pacing` spellings.
public enum NPUPacing: String, Sendable, Equatable, CaseIterable {
    case none
    case realtime
}
