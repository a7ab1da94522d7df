/// One server-sent event (WHATWG HTML §9.2 `text/event-stream`), the unit of a streamed completion.
///
/// `encoded` frames the event as `field: value` lines ended by a blank line; multi-line data becomes
/// several `data:` lines, which a client joins back with `\n`. OpenAI streams use only `data:`, ending
/// with `ServerSentEvent.done` (`data: [DONE]`).
public struct ServerSentEvent: Sendable, Hashable {
    public var data: String
    public var event: String?
    public var id: String?
    /// Reconnection delay hint in milliseconds.
    public var retry: Int?

    public init(data: String, event: String? = nil, id: String? = nil, retry: Int? = nil) {
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
    }

    /// The `data: [DONE]` sentinel that ends an OpenAI stream.
    public static let done = ServerSentEvent(data: "[DONE]")

    /// Wire bytes of the event, ending in a blank line.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 16)
        if let event { appendField("event", event, to: &out) }
        if let id { appendField("id", id, to: &out) }
        if let retry { appendField("retry", String(retry), to: &out) }
        var lineStart = data.utf8.startIndex
        let utf8 = data.utf8
        var index = lineStart
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == 0x0A || byte == 0x0D {
                appendField("data", Substring(utf8[lineStart..<index]), to: &out)
                let next = utf8.index(after: index)
                if byte == 0x0D && next < utf8.endIndex && utf8[next] == 0x0A {
                    index = utf8.index(after: next)
                } else {
                    index = next
                }
                lineStart = index
            } else {
                index = utf8.index(after: index)
            }
        }
        appendField("data", Substring(utf8[lineStart..<utf8.endIndex]), to: &out)
        out.append(0x0A)
        return out
    }

    private func appendField(_ name: String, _ value: some StringProtocol, to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: ": ".utf8)
        for byte in value.utf8 where byte != 0x0A && byte != 0x0D {
            out.append(byte)
        }
        out.append(0x0A)
    }
}
