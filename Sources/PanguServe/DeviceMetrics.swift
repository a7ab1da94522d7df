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
            (
                "pangu:device_memory_used_bytes", "Device memory in use: weights and KV cache (bytes).", .gauge,
                { Double($0.memoryUsedBytes) }
            ),
            (
                "pangu:device_memory_total_bytes", "Device memory capacity (bytes).", .gauge,
                { Double($0.memoryTotalBytes) }
            ),
            (
                "pangu:device_busy_seconds", "Simulated seconds the device spent running steps.", .counter,
                { $0.busySeconds }
            ),
            (
                "pangu:device_simulated_seconds", "Simulated device timeline, busy plus idle (seconds).", .counter,
                { $0.simulatedSeconds }
            ),
        ]
        for (name, help, type, value) in series {
            metrics.collector(name: name, help: help, type: type, labelNames: ["model_name", "device"]) {
                stack.deviceStats.map { CollectedSample(labelValues: [model, $0.name], value: value($0)) }
            }
        }
        registerExpertLoad(on: metrics, stack: stack)
    }

    /// Expert-parallel workers only: token rows routed to each card's experts
    /// (`pangu:npu_expert_load_tokens_total`) and the group's max/mean ratio.
    static func registerExpertLoad(on metrics: MetricsRegistry, stack: ServingStack) {
        guard stack.npuDeviceGroups.contains(where: { $0.expertPlacement != nil }) else { return }
        let model = stack.modelName
        let series: [(String, String, MetricType)] = [
            ("pangu:npu_expert_load_tokens_total", "Token rows routed to the experts this card holds.", .counter),
            (
                "pangu:npu_expert_load_imbalance_ratio", "Max over mean of the expert-parallel group's per-card load.",
                .gauge
            ),
        ]
        for (name, help, type) in series {
            metrics.collector(name: name, help: help, type: type, labelNames: ["model_name", "device"]) {
                stack.deviceStats.flatMap { stats in
                    stats.expertLoadMetrics.filter { $0.name == name }.map {
                        CollectedSample(labelValues: [model, stats.name], value: $0.value)
                    }
                }
            }
        }
    }
}
