import Testing

@testable import Devices

@Suite("NPU step ledger, device clock and transfer counters")
struct NPUStepLedgerTests {
    @Test("the ledger sums FLOPs, bytes, launches and time per op kind, and the step time over all")
    func ledgerTotals() throws {
        let model = try NPUFixtures.costModel("910B2")
        var ledger = NPUStepLedger(costModel: model)
        let matmul = NPUOp.matmul(
            name: "m", numTokens: 1, inFeatures: 4096, outFeatures: 4096, weightDType: .bf16, activationDType: .bf16)
        let vector = NPUOp.vector(name: "v", numElements: 4096, flopsPerElement: 5, bytesPerElement: 8, dtype: .bf16)
        let allReduce = NPUOp.collective(name: "c", .allReduce, numRanks: 8, bytes: 8192, dtype: .bf16)
        let times = try [matmul, matmul, vector, allReduce].map { try ledger.record($0) }
        #expect(ledger.entries.count == 4)
        #expect(ledger.totals(.matmul).numOps == 2)
        #expect(ledger.totals(.matmul).flops == 2 * 33_554_432)
        #expect(ledger.totals(.matmul).bytes == 2 * 33_570_816)
        #expect(isClose(ledger.totals(.matmul).launchSeconds, 10e-6))
        #expect(ledger.totals(.vector).bytes == 32_768)
        #expect(ledger.totals(.collective).numLaunches == 1)
        #expect(isClose(ledger.stepSeconds, times.reduce(0) { $0 + $1.seconds }))
        #expect(ledger.total.numOps == 4)
        ledger.reset()
        #expect(ledger.entries.isEmpty && ledger.stepSeconds == 0)
    }

    @Test("the device clock accumulates busy and idle time")
    func deviceClock() throws {
        let model = try NPUFixtures.costModel("910B2")
        var ledger = NPUStepLedger(costModel: model)
        try ledger.record(
            .matmul(
                name: "m", numTokens: 1, inFeatures: 4096, outFeatures: 4096, weightDType: .bf16, activationDType: .bf16
            ))
        let clock = NPUDeviceClock()
        clock.commit(ledger)
        clock.commit(ledger)
        clock.advanceIdle(seconds: ledger.stepSeconds * 2)
        let reading = clock.reading
        #expect(reading.numSteps == 2)
        #expect(isClose(reading.busySeconds, 2 * ledger.stepSeconds))
        #expect(isClose(reading.simulatedSeconds, 4 * ledger.stepSeconds))
        #expect(isClose(reading.utilization, 0.5))
        #expect(isClose(reading.busySecondsByCategory[.matmul] ?? 0, 2 * ledger.stepSeconds))
        #expect(reading.busySecondsByCategory[.vector] == nil)
    }

    @Test("host-device copy counters count bytes and copies per direction")
    func transferCounters() {
        let counters = NPUTransferCounters()
        counters.recordHostToDevice(bytes: 100)
        counters.recordHostToDevice(bytes: 28)
        counters.recordDeviceToHost(bytes: 4)
        #expect(
            counters.reading
                == .init(
                    numHostToDeviceCopies: 2, hostToDeviceBytes: 128, numDeviceToHostCopies: 1, deviceToHostBytes: 4))
    }
}
