/// Namespace of the `HTTP1` module; see docs/architecture.md.
public enum HTTP1Module {}
