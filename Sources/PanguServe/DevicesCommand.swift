import Devices
import Foundation

/// `pangu-serve devices`: an `npu-smi info`-like table of the devices a
/// `--devices` list configures: card, worker, chip profile, device memory
/// used/total (weights and KV cache of `--model-config` when given) and
/// simulated utilisation. The same `DeviceStats` rows back the `/metrics`
/// device gauges of a running server.
enum DevicesCommand {
    static let specs: [OptionSpec] = [
        OptionSpec(
            name: "devices", help: "device workers, as for serve (cpu, cpu:N, npu:PROFILE, npu:PROFILExN)",
            unit: "list", defaultValue: "cpu"),
        OptionSpec(
            name: "modelConfig", help: "a model's config.json: show its weights and KV cache in device memory",
            unit: "file"),
        OptionSpec(
            name: "npuMemoryUtilization", help: "share of device memory left after the weights for the KV cache",
            unit: "0..1", defaultValue: "0.9"),
        OptionSpec(
            name: "npuProfilesDir", help: "directory of NPU chip profiles (*.json)", unit: "dir",
            defaultDescription: "Config/devices next to the executable or in the package"),
        OptionSpec(name: "help", help: "show this help", isSwitch: true),
    ]

    static func run(_ arguments: [String]) throws(CLIError) {
        let options = try OptionValues(arguments: arguments, specs: specs)
        if try options.bool("help") {
            print(
                OptionValues.help(
                    usage: "usage: pangu-serve devices [--devices LIST] [--model-config FILE]", specs: specs))
            return
        }
        let devices = try DeviceSpec.parse(options.string("devices") ?? "cpu")
        var shape: DecoderShape?
        if let path = options.string("modelConfig") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("invalid value for --model-config: cannot read \(path)")
            }
            do { shape = try DecoderShape(huggingFaceConfigJSON: data) } catch {
                throw CLIError("invalid value for --model-config: \(error)")
            }
        }
        let hasNPU = devices.contains { if case .npu = $0 { true } else { false } }
        let catalog = hasNPU ? try NPUProfileDirectory.catalog(options.string("npuProfilesDir")) : ChipProfileCatalog()
        let rows = try self.rows(
            devices, catalog: catalog, shape: shape,
            npuMemoryUtilization: try options.double("npuMemoryUtilization") ?? 0.9)
        print(table(rows))
    }

    /// One row per card (NPU) or worker (CPU): without a model shape the
    /// cards show their capacity only.
    static func rows(
        _ devices: [DeviceSpec], catalog: ChipProfileCatalog, shape: DecoderShape?, npuMemoryUtilization: Double
    ) throws(CLIError) -> [[String]] {
        var rows: [[String]] = []
        var numCPU = 0
        var numNPU = 0
        var nextCard = 0
        for spec in DeviceSpec.workers(devices) {
            switch spec {
            case .cpu:
                rows.append(["cpu\(numCPU)", "cpu\(numCPU)", "host CPU", "-", "-"])
                numCPU += 1
            case .npu(let profileName, let numCards):
                let stats: [DeviceStats]
                do {
                    let profile = try catalog.profile(named: profileName)
                    if let shape {
                        let dtype = NPUDType.deviceDType(checkpoint: shape.activationDType.rawValue, profile: profile)
                        var deviceShape = shape
                        (deviceShape.weightDType, deviceShape.activationDType) =
                            shape.weightDType == .int8 ? (.int8, dtype) : (dtype, dtype)
                        stats = try NPUDeviceGroup(
                            name: "npu\(numNPU)", profile: profile, shape: deviceShape, tensorParallelSize: numCards,
                            firstCardIndex: nextCard, npuMemoryUtilization: npuMemoryUtilization
                        ).deviceStats
                    } else {
                        stats = (nextCard..<(nextCard + numCards)).map {
                            DeviceStats(
                                name: "npu:\($0)", profile: profile.name, workerName: "npu\(numNPU)",
                                memoryUsedBytes: 0,
                                memoryTotalBytes: profile.hbmBytes, busySeconds: 0, simulatedSeconds: 0, numSteps: 0,
                                hostToDeviceBytes: 0, deviceToHostBytes: 0)
                        }
                    }
                } catch { throw CLIError("invalid value for --devices: npu:\(profileName): \(error)") }
                rows += stats.map(row)
                numNPU += 1
                nextCard += numCards
            }
        }
        return rows
    }

    /// A table row of one card's snapshot.
    static func row(_ stats: DeviceStats) -> [String] {
        let mib = 1 << 20
        return [
            stats.name, stats.workerName, stats.profile,
            "\(stats.memoryUsedBytes / mib) / \(stats.memoryTotalBytes / mib)",
            String(format: "%.1f", stats.utilization * 100),
        ]
    }

    /// Rows under the header, columns padded.
    static func table(_ rows: [[String]]) -> String {
        let header = ["Device", "Worker", "Profile", "HBM used / total (MiB)", "Util (%)"]
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}
