/// Namespace of the `Engine` module; see docs/architecture.md.
public enum EngineModule {}
