/// Namespace of the `HTTPServer` module; see docs/architecture.md.
public enum HTTPServerModule {}
