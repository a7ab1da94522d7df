/// Namespace of the `Devices` module; see docs/architecture.md.
public enum DevicesModule {}
