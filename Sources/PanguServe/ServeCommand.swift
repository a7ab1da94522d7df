import Foundation
import HTTPServer
import OpenAIAPI
import Telemetry

/// `pangu-serve serve` (the default): the daemon. Listens first so probes
/// answer while the model loads, then serves the OpenAI API until SIGTERM or
/// SIGINT, when it drains in-flight requests and exits 0.
enum ServeCommand {
    /// Lifecycle of the daemon process.
    enum Phase {
        /// Listening; /health answers, /ready is 503, API calls get 503.
        case loading
        /// Model loaded, engine loops running, API routes installed.
        case serving(ServingStack)
        /// A stop signal arrived: not ready, new requests refused, in-flight ones finishing.
        case draining
    }

    static func run(_ arguments: [String]) async throws(CLIError) {
        let options = try ServeOptions.parse(arguments, environment: ProcessInfo.processInfo.environment)
        if try options.bool("help") {
            print(
                OptionValues.help(
                    usage: "usage: pangu-serve [serve] [options]", specs: ServeOptions.specs, showEnvironment: true))
            return
        }
        let config = try ServeConfig(options)
        let directory = try ModelDirectory.resolve(config.modelPath)
        let logger = Logger(label: "pangu-serve", level: config.logLevel, format: config.logFormat)
        let metrics = MetricsRegistry()
        let readiness = Readiness(.loading)
        let router = Router()
        installMiddleware(on: router, config: config, logger: logger, readiness: readiness, metrics: metrics)
        let server = HTTPServer(config: config.http, router: router, logger: logger.withLabel("http"))
        do { try server.start() } catch {
            throw CLIError("cannot listen on \(config.http.host):\(config.http.port): \(error)")
        }
        let scheme = config.http.enableTLS ? "https" : "http"
        let address = "\(scheme)://\(config.http.host):\(server.boundPort)"
        logger.info("listening, loading model", ["address": address, "model": directory.path])

        let stack = try ServingStack.build(config: config, directory: directory)
        var context = APIContext(
            engine: stack.engine, tokenizer: stack.tokenizer, servedModelName: stack.modelName,
            maxModelLen: stack.engineConfig.effectiveMaxModelLen, metrics: metrics, version: PanguServeVersion.string,
            readiness: readiness, logger: logger.withLabel("openai"))
        context.cacheDType = stack.kvCacheDType.rawValue.lowercased()
        OpenAIRoutes.install(on: router, context: context)
        DeviceMetrics.register(on: metrics, stack: stack)
        readiness.set(.ready)
        FileHandle.standardOutput.write(
            Data((stack.banner(version: PanguServeVersion.string, address: address) + "\n").utf8))

        let signalName = await StopSignal.wait()
        logger.info("stopping: draining in-flight requests", ["signal": signalName])
        readiness.set(.draining)
        await drain(stack: stack, server: server, deadline: config.drainTimeout)
        logger.info("stopped")
    }

    /// The middleware chain: request ids, access log, HTTP metrics, CORS, API keys.
    private static func installMiddleware(
        on router: Router, config: ServeConfig, logger: Logger, readiness: Readiness, metrics: MetricsRegistry
    ) {
        router.use(.requestID())
        router.use(.accessLog(logger.withLabel("access")))
        var cors = CORSConfig()
        cors.allowedOrigins = config.allowedOrigins
        router.use(.cors(cors))
        if let key = config.apiKey { router.use(.bearerAuth(keys: [key])) }
        router.use(LoadingGate.middleware(readiness: readiness, metrics: metrics))
    }

    /// Engine loops finish their requests (up to the deadline), then the HTTP server closes.
    private static func drain(stack: ServingStack, server: HTTPServer, deadline: Duration) async {
        let engine = stack.engine
        let drained = Task { await engine.shutdown(drain: true) }
        let timer = Task {
            try? await Task.sleep(for: deadline)
            await engine.shutdown(drain: false)
        }
        await drained.value
        timer.cancel()
        await server.shutdown(deadline: .seconds(5))
    }
}
