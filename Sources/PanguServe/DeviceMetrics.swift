import Devices
import Telemetry

/// Publishes the simulated NPU cards' memory and time on `/metrics`, one
/// series per card labelled `device` (CPU workers' queue and KV series come
/// from the API layer's per-worker gauges).
enum DeviceMetrics {
    static func register(on metrics: MetricsRegistry, stack: ServingStack) {
        guard !stack.npuDeviceGroups.isEmpty else { return }
        let model = stack.modelName
        let series: [(String, String, MetricType, @Sendable (DeviceStats) -> Double)] = [
            ("pangu:device_memory_used_bytes", "Device memory in use: weights and KV cache (bytes).", .gauge,
             { Double($0.memoryUsedBytes) }),
            ("pangu:device_memory_total_bytes", "Device memory capacity (bytes).", .gauge,
             { Double($0.memoryTotalBytes) }),
            ("pangu:device_busy_seconds", "Simulated seconds the device spent running steps.", .counter,
             { $0.busySeconds }),
            ("pangu:device_simulated_seconds", "Simulated device timeline, busy plus idle (seconds).", .counter,
             { $0.simulatedSeconds }),
        ]
        for (name, help, type, value) in series {
            metrics.collector(name: name, help: help, type: type, labelNames: ["model_name", "device"]) {
                stack.deviceStats.map { CollectedSample(labelValues: [model, $0.name], value: value($0)) }
            }
        }
    }
}
