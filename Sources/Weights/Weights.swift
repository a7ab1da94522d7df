/// Namespace of the `Weights` module; see docs/architecture.md.
public enum WeightsModule {}
