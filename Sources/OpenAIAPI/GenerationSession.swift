import Engine
import HTTPServer

/// The engine side of one API call: its submitted requests (one per choice) and their outputs merged into
/// one stream of `(choice index, output)` in arrival order, so tokens can be written as soon as they exist.
///
/// A client that disconnects (the writer's `onClose`), at any point after submission, aborts every request
/// of the call, so the engine frees their KV blocks at its next step; `abortAll()` does the same for handler
/// errors. Aborting a finished request is a no-op.
struct GenerationSession: Sendable {
    let engine: EngineClient
    let requestIDs: [String]
    let outputs: AsyncStream<(index: Int, output: RequestOutput)>

    /// Submits `requests` together (one loop, shared prompt blocks) and ties their lifetime to `writer`.
    static func start(engine: EngineClient, requests: [EngineRequest], writer: ResponseWriter) throws(APIError)
        -> GenerationSession
    {
        let streams: [AsyncStream<RequestOutput>]
        do {
            streams = try engine.generate(requests)
        } catch {
            throw APIError.from(error)
        }
        let ids = requests.map(\.requestID)
        writer.onClose {
            for id in ids { engine.abort(id) }
        }
        return GenerationSession(engine: engine, requestIDs: ids, outputs: merge(streams))
    }

    /// Aborts every request of the call (finished ones are ignored by the engine).
    func abortAll() {
        for id in requestIDs { engine.abort(id) }
    }

    private static func merge(_ streams: [AsyncStream<RequestOutput>]) -> AsyncStream<
        (index: Int, output: RequestOutput)
    > {
        let (merged, continuation) = AsyncStream.makeStream(of: (index: Int, output: RequestOutput).self)
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, stream) in streams.enumerated() {
                    group.addTask {
                        for await output in stream { continuation.yield((index, output)) }
                    }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return merged
    }
}
