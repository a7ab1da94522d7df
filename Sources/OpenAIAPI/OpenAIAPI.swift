/// Namespace of the `OpenAIAPI` module; see docs/architecture.md.
public enum OpenAIAPIModule {}
