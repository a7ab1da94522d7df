import Devices
import Engine
import Foundation
import HTTPServer
import HTTPTestSupport
import Models
import OpenAIAPI
import Telemetry
import Tensors
import Tokenizers

/// A real `HTTPServer` on 127.0.0.1 (ephemeral port) with the OpenAI routes over an `EngineLoop` driving a
/// `CPUWorker` on tiny-pangu-embedded.
final class APIServerFixture: Sendable {
    static let modelDirectory = SharedData.url("models/tiny-pangu-embedded")
    static let blockSize = 4

    let server: HTTPServer
    let engine: EngineClient
    let readiness: Readiness
    let tokenizer: any Tokenizer
    let registry: MetricsRegistry

    var port: Int { server.boundPort }

    init(
        numBlocks: Int = 256, maxNumWaitingRequests: Int = 64, maxBodyBytes: Int = 1 << 20,
        chatTemplate: ChatTemplate? = nil, failFromStep: Int? = nil, stepDelay: Duration? = nil,
        numSpeculativeTokens: Int = 0, logSink: Logger.Sink? = nil
    ) throws {
        let pool = KernelPool(numThreads: 1)
        let model = try ModelLoader.load(directory: Self.modelDirectory, pool: pool)
        let tokenizer = try TokenizerLoader.load(directory: Self.modelDirectory)
        var config = EngineConfig(numBlocks: numBlocks)
        config.blockSize = Self.blockSize
        config.maxNumSeqs = 8
        config.maxNumBatchedTokens = 256
        config.maxModelLen = 512
        config.maxNumWaitingRequests = maxNumWaitingRequests
        config.numSpeculativeTokens = numSpeculativeTokens
        let worker = CPUWorker(
            name: "cpu0", model: model, numBlocks: numBlocks, blockSize: Self.blockSize, kvCacheDType: .f16,
            numThreads: 1)  // the daemon's default cache type
        let loop: EngineLoop
        if failFromStep != nil || stepDelay != nil {
            let scripted = ScriptedWorker(inner: worker, failFromStep: failFromStep, stepDelay: stepDelay)
            loop = try EngineLoop(config: config, worker: scripted, tokenizer: tokenizer)
        } else {
            loop = try EngineLoop(config: config, worker: worker, tokenizer: tokenizer)
        }
        engine = EngineClient(loops: [loop])
        readiness = Readiness(.ready)
        registry = MetricsRegistry()
        self.tokenizer = tokenizer
        let router = Router()
        let context = APIContext(
            engine: engine, tokenizer: tokenizer, servedModelName: "tiny-pangu", modelAliases: ["org/tiny-pangu"],
            chatTemplate: chatTemplate,
            metrics: registry,
            version: "0.0.0-test", readiness: readiness,
            logger: Logger(label: "test", level: logSink == nil ? .error : .info, sink: logSink))
        OpenAIRoutes.install(on: router, context: context)
        var serverConfig = HTTPServerConfig()
        serverConfig.port = 0
        serverConfig.limits.maxBodyBytes = maxBodyBytes
        server = HTTPServer(config: serverConfig, router: router, logger: Logger(label: "http", level: .error))
        try server.start()
    }

    func client() throws -> TestClient { try TestClient(port: port, timeoutSeconds: 20) }

    func stop() async {
        await server.shutdown(deadline: .milliseconds(200))
        await engine.shutdown(drain: false)
    }

    /// Waits (bounded) until the engine has no running or waiting request and every block is free.
    func waitUntilIdle() async throws -> EngineStats {
        var stats = engine.combinedStats
        for _ in 0..<2000 where stats.numRunning + stats.numWaiting > 0 || stats.numFreeBlocks != stats.numBlocksTotal {
            try await Task.sleep(for: .milliseconds(10))
            stats = engine.combinedStats
        }
        return stats
    }
}

/// Runs blocking socket I/O on its own thread, so waiting test clients never occupy the cooperative pool
/// that the server's handlers need.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do {
                continuation.resume(returning: try body())
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.start()
    }
}

extension APIServerFixture {
    /// POSTs `json` on a fresh connection.
    func post(_ path: String, _ json: [String: Any]) async throws -> TestResponse {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        return try await send("POST", path, body: body)
    }

    /// Sends a request with a raw body on a fresh connection.
    func send(_ method: String, _ path: String, body: String? = nil) async throws -> TestResponse {
        let port = self.port
        return try await offPool {
            let client = try TestClient(port: port, timeoutSeconds: 20)
            let headers = body == nil ? [] : ["Content-Type: application/json"]
            return try client.request(method, path, headers: headers, body: body)
        }
    }
}

/// A CPU worker whose compute steps fail from the `failFromStep`-th on (1-based), to exercise the API's
/// handling of `.error` outputs, and/or take at least `stepDelay`, so a test can act while a request runs
/// however fast the kernels are.
final class ScriptedWorker: Worker {
    struct StepFailure: Error {}

    let inner: CPUWorker
    let failFromStep: Int?
    let stepDelay: Duration?
    private var numSteps = 0

    init(inner: CPUWorker, failFromStep: Int?, stepDelay: Duration?) {
        self.inner = inner
        self.failFromStep = failFromStep
        self.stepDelay = stepDelay
    }

    var info: WorkerInfo { inner.info }

    func execute(_ schedulerOutput: SchedulerOutput) throws -> ModelRunnerOutput {
        if schedulerOutput.totalNumScheduledTokens > 0 {
            numSteps += 1
            if let failFromStep, numSteps >= failFromStep { throw StepFailure() }
            if let stepDelay { Thread.sleep(forTimeInterval: Double(stepDelay.components.attoseconds) / 1e18) }
        }
        return try inner.execute(schedulerOutput)
    }
}
