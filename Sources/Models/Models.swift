/// Namespace of the `Models` module; see docs/architecture.md.
public enum ModelsModule {}
