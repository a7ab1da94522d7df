import HTTP1
import HTTPServer
import Telemetry

/// The public entry point of the API layer: registers every OpenAI, vLLM and operator endpoint on a
/// `Router`, and the `pangu:` metrics in the context's registry.
///
/// Call once per `MetricsRegistry` (metric names are registered once), before `HTTPServer.start()`.
/// Routes: `POST /v1/completions`, `POST /v1/chat/completions`, `GET /v1/models`,
/// `GET /v1/models/{model}`, `GET /version`,
/// `POST /tokenize`, `POST /detokenize`, `GET /health`, `GET /ready`, `GET /metrics`. Also adds the
/// middleware that counts `pangu:http_requests_total{method,route,status}`.
public enum OpenAIRoutes {
    public static func install(on router: Router, context: APIContext) {
        var context = context
        let metrics = APIMetrics(
            registry: context.metrics, engine: context.engine, modelName: context.servedModelName,
            cacheDType: context.cacheDType)
        context.apiMetrics = metrics
        router.use(metrics.httpMiddleware)
        let completions = CompletionsEndpoint(context: context)
        let chat = ChatCompletionsEndpoint(context: context)
        let utility = UtilityEndpoints(context: context)
        router.add(.post, "/v1/completions") { request, writer in try await completions.handle(request, writer) }
        router.add(.post, "/v1/chat/completions") { request, writer in try await chat.handle(request, writer) }
        router.add(.get, "/v1/models") { _ in utility.models() }
        router.add(.get, "/v1/models/{model...}") { request in try utility.model(request) }
        router.add(.get, "/version") { _ in utility.version() }
        router.add(.post, "/tokenize") { request in try await utility.tokenize(request) }
        router.add(.post, "/detokenize") { request in try await utility.detokenize(request) }
        router.add(.get, "/health") { _ in utility.health() }
        router.add(.get, "/ready") { _ in utility.ready() }
        let registry = context.metrics
        router.add(.get, "/metrics") { _ in
            metrics.sampleIterationTokens()
            return HTTPResponse(
                status: .ok, headers: ["Content-Type": MetricsRegistry.contentType],
                body: Array(registry.render().utf8))
        }
    }
}
