import Synchronization

/// The daemon's serving phase as seen by `/ready` and the generation endpoints: set by the composition root
/// (loading → ready at start, ready → draining on SIGTERM), read by every request.
///
/// Sendable; reads and writes are atomic. Generation requests and `/ready` answer 503 unless `ready`.
public final class Readiness: Sendable {
    /// Serving phases.
    public enum State: UInt8, Sendable, Equatable {
        /// Weights or tokenizer still loading: refuse generation.
        case loading = 0
        /// Serving requests.
        case ready = 1
        /// Shutting down: refuse new generation, let in-flight requests finish.
        case draining = 2
    }

    private let storage: Atomic<UInt8>

    public init(_ state: State = .loading) {
        storage = Atomic(state.rawValue)
    }

    /// The current phase.
    public var state: State {
        get { State(rawValue: storage.load(ordering: .acquiring)) ?? .loading }
    }

    /// Moves to `state`.
    public func set(_ state: State) {
        storage.store(state.rawValue, ordering: .releasing)
    }
}
