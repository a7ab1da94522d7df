/// The waiting queue of one scheduler: requests not running (new or preempted), kept in admission order
/// for the scheduling policy.
///
/// Sorted by `(arrivalTime, sequenceNumber)` under FCFS and `(priority, arrivalTime, sequenceNumber)` under
/// priority, so a preempted request (an early arrival) returns near the front. Also tracks the total tokens
/// waiting, for admission control.
struct RequestQueue {
    let policy: SchedulingPolicy
    private(set) var requests: [Request] = []
    /// Sum of `numTokens` of the queued requests.
    private(set) var numTokens = 0

    init(policy: SchedulingPolicy) { self.policy = policy }

    var count: Int { requests.count }
    var isEmpty: Bool { requests.isEmpty }
    subscript(index: Int) -> Request { requests[index] }

    /// Inserts at its place in policy order (binary search; equal keys keep insertion order).
    mutating func insert(_ request: Request) {
        var low = 0
        var high = requests.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(requests[middle], request, policy: policy) { low = middle + 1 } else { high = middle }
        }
        requests.insert(request, at: low)
        numTokens += request.numTokens
    }

    @discardableResult
    mutating func remove(at index: Int) -> Request {
        let request = requests.remove(at: index)
        numTokens -= request.numTokens
        return request
    }

    /// Removes the request with this id; returns it, or nil if not queued.
    mutating func remove(requestID: String) -> Request? {
        guard let index = requests.firstIndex(where: { $0.requestID == requestID }) else { return nil }
        return remove(at: index)
    }

    /// Whether `a` is served before `b` under `policy` (and so preempted after it).
    static func precedes(_ a: Request, _ b: Request, policy: SchedulingPolicy) -> Bool {
        switch policy {
        case .fcfs:
            return (a.arrivalTime, a.sequenceNumber) < (b.arrivalTime, b.sequenceNumber)
        case .priority:
            return (a.priority, a.arrivalTime, a.sequenceNumber) < (b.priority, b.arrivalTime, b.sequenceNumber)
        }
    }
}
