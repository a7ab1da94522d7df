import Foundation
import HTTPTestSupport

#if canImport(Glibc)
    import Glibc
#endif

extension TestResponse {
    /// The body parsed as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// The `data:` payloads of an SSE body, in order.
    var events: [String] {
        text.components(separatedBy: "\n\n").compactMap { block in
            block.hasPrefix("data: ") ? String(block.dropFirst(6)) : nil
        }
    }

    /// The JSON objects of an SSE body (skipping `[DONE]`).
    var eventObjects: [[String: Any]] {
        events.filter { $0 != "[DONE]" }.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }
}

extension TestClient {
    /// POSTs a JSON body and reads the response.
    func post(_ path: String, _ json: [String: Any]) throws -> TestResponse {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try request(
            "POST", path, headers: ["Content-Type: application/json"], body: String(decoding: data, as: UTF8.self))
    }

    /// Half-closes and shuts the socket down (the server sees the peer gone).
    func disconnect() {
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }
}
