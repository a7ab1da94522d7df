import Engine
import Foundation
import Telemetry
import Tokenizers

/// Everything the OpenAI endpoints need from the composition root: the engine, the tokenizer, the served
/// model's name and limits, the chat template, metrics, logging and the readiness flag.
///
/// Built once at start-up and passed to `OpenAIRoutes.install(on:context:)`. Immutable and Sendable.
public struct APIContext: Sendable {
    /// The engine replicas behind one submit/abort surface.
    public var engine: EngineClient
    /// The served model's tokenizer (prompts in, logprob token texts out).
    public var tokenizer: any Tokenizer
    /// The name clients pass as `model`; other names answer 404 `model_not_found`.
    public var servedModelName: String
    /// Extra names accepted as `model` (aliases, e.g. the checkpoint directory name).
    public var modelAliases: [String]
    /// Longest request (prompt + generated tokens). Default: the engine's effective limit.
    public var maxModelLen: Int
    /// How chat messages become a prompt. Default: `ChatTemplate.detect(tokenizer:)`.
    public var chatTemplate: ChatTemplate
    /// Where the `pangu:` metrics are registered (install registers them once per registry).
    public var metrics: MetricsRegistry
    /// Reported by `GET /version`.
    public var version: String
    /// Loading / ready / draining, flipped by the composition root.
    public var readiness: Readiness
    /// Log for refused and failed requests.
    public var logger: Logger
    /// `created` of `/v1/models` entries (Unix seconds). Default: now.
    public var createdTime: Int
    /// Element type of the workers' KV caches, for `pangu:cache_config_info{cache_dtype}`.
    public var cacheDType = "f16"
    /// The registered metric families; set by `OpenAIRoutes.install`.
    var apiMetrics: APIMetrics?

    public init(
        engine: EngineClient, tokenizer: any Tokenizer, servedModelName: String, modelAliases: [String] = [],
        maxModelLen: Int? = nil, chatTemplate: ChatTemplate? = nil, metrics: MetricsRegistry, version: String,
        readiness: Readiness, logger: Logger = Logger(label: "openai"), createdTime: Int? = nil
    ) {
        self.engine = engine
        self.tokenizer = tokenizer
        self.servedModelName = servedModelName
        self.modelAliases = modelAliases
        self.maxModelLen =
            maxModelLen ?? engine.loops.map(\.config.effectiveMaxModelLen).min() ?? 2048
        self.chatTemplate = chatTemplate ?? ChatTemplate.detect(tokenizer: tokenizer)
        self.metrics = metrics
        self.version = version
        self.readiness = readiness
        self.logger = logger
        self.createdTime = createdTime ?? Int(Date().timeIntervalSince1970)
    }

    /// Whether `name` selects the served model.
    func serves(_ name: String) -> Bool { name == servedModelName || modelAliases.contains(name) }
}
