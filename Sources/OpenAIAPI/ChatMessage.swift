/// One turn of a chat conversation after decoding: who spoke and the text (content parts joined).
public struct ChatMessage: Sendable, Equatable {
    /// Speaker roles accepted in `messages`.
    public enum Role: String, Sendable, CaseIterable {
        case system
        case user
        case assistant
        case tool
    }

    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}
