import Engine

/// A timing-only simulated NPU worker for capacity planning (`pangu-serve
/// simulate`): no weights, no math. Each step it times the scheduled batch
/// on its `NPUDeviceGroup` (whose clock is the engine's virtual clock) and
/// returns `tokenID` for every request that samples.
///
/// Owned and called by one engine thread (see `Worker`).
public final class NPUTimingWorker: Worker {
    public let info: WorkerInfo
    public let deviceGroup: NPUDeviceGroup
    /// The id returned for every sampled token.
    public let tokenID: Int
    private var states = WorkerRequestStates()

    public init(deviceGroup: NPUDeviceGroup, tokenID: Int = 0) {
        info = WorkerInfo(name: deviceGroup.name, kind: "Ascend \(deviceGroup.profile.name) (timing only)")
        self.deviceGroup = deviceGroup
        self.tokenID = tokenID
    }

    public func execute(_ schedulerOutput: SchedulerOutput) throws -> ModelRunnerOutput {
        let chunks = try states.apply(schedulerOutput).filter { !$0.tokenIDs.isEmpty }
        let batch = NPUBatch(chunks: chunks)
        if batch.numTokens == 0 { return .empty }
        try deviceGroup.runStep(batch)
        var output = ModelRunnerOutput()
        for chunk in chunks where chunk.samplesToken {
            states.append(tokenID, to: chunk.requestID)
            output.sampledTokenIDs[chunk.requestID] = [tokenID]
        }
        deviceGroup.transfers.recordDeviceToHost(bytes: output.sampledTokenIDs.count * MemoryLayout<Int32>.size)
        return output
    }
}
