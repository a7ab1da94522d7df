import HTTPServer
import OpenAIAPI
import Telemetry

/// Answers while the model loads (the listener is up from the start): /health
/// is 200, /ready is 503, /metrics renders what is registered so far, and every
/// other path is 503. Once the API is installed and ready, requests pass through.
enum LoadingGate {
    static func middleware(readiness: Readiness, metrics: MetricsRegistry) -> HTTPMiddleware {
        HTTPMiddleware { request, writer, next in
            guard readiness.state == .loading else { return try await next(request, writer) }
            switch request.path {
            case "/health":
                try await writer.send(.json(Array(#"{"status":"ok"}"#.utf8)))
            case "/metrics":
                try await writer.send(.text(metrics.render()))
            default:
                try await writer.send(
                    .error(HTTPError(status: .serviceUnavailable, message: "the model is loading", code: "not_ready")))
            }
        }
    }
}
