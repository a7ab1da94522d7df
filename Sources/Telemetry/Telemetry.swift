/// Namespace of the `Telemetry` module; see docs/architecture.md.
public enum TelemetryModule {}
