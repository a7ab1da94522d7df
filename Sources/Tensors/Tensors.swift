/// Namespace of the `Tensors` module; see docs/architecture.md.
public enum TensorsModule {}
