import HTTP1
import HTTPServer

/// Writes an OpenAI server-sent-event stream: the `text/event-stream` head, one `data:` event per JSON
/// chunk, an error event when generation fails mid-stream, and the closing `data: [DONE]`.
struct EventStreamWriter: Sendable {
    let writer: ResponseWriter

    func start() throws {
        try writer.writeHead(
            status: .ok,
            headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"])
    }

    func send(_ chunk: JSONValue) async throws {
        try await writer.writeEvent(ServerSentEvent(data: chunk.encoded))
    }

    /// The error as a final event (OpenAI error body), then `[DONE]`.
    func fail(_ error: APIError) async throws {
        try await writer.writeEvent(ServerSentEvent(data: String(decoding: error.httpError.jsonBody, as: UTF8.self)))
        try await done()
    }

    func done() async throws {
        try await writer.writeEvent(.done)
        writer.finish()
    }
}
