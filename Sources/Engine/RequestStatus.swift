/// Where a request is in its lifecycle inside one engine loop.
///
/// Transitions: `waiting → running → finished`, with `running → preempted → running` when the KV cache
/// runs short (any number of times), and `waiting`/`preempted → finished` on abort.
public enum RequestStatus: Sendable, Equatable {
    /// Admitted to the waiting queue, never scheduled; holds no KV blocks.
    case waiting
    /// Scheduled at least once and in the running set; holds KV blocks for its computed tokens.
    case running
    /// Was running, lost its KV blocks to a more urgent request and waits again; when scheduled it
    /// recomputes prompt + generated tokens as a new prefill (prefix-cache hits permitting).
    case preempted
    /// Done; its blocks are freed. Terminal.
    case finished(FinishReason)

    /// Whether the request is done.
    public var isFinished: Bool {
        if case .finished = self { return true }
        return false
    }
}

/// Why a request stopped.
public enum FinishReason: String, Sendable, Equatable {
    /// EOS, a stop token id or a stop string (see `StopReason`).
    case stop
    /// `maxTokens` generated, or the sequence reached `maxModelLen`.
    case length
    /// Aborted by the client (e.g. disconnected) or by engine shutdown.
    case abort
    /// The worker failed while computing a step of this request.
    case error
}

/// Which stop condition ended a request finished with `.stop`.
public enum StopReason: Sendable, Equatable {
    /// The end-of-sequence token.
    case eos(tokenID: Int)
    /// One of `SamplingParams.stopTokenIDs`.
    case stopTokenID(Int)
    /// One of the request's stop strings.
    case stopString(String)
}
