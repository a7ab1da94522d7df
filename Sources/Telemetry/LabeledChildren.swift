import Synchronization

/// The children of one metric family, one per distinct tuple of label values,
/// created on first use and kept for the process's life.
///
/// Lookups take the family's mutex and hash the label values, so hot paths should
/// look a child up once and keep it. Invariant: every key has exactly
/// `labelNames.count` values.
final class LabeledChildren<Child: AnyObject & Sendable>: Sendable {
    let labelNames: [String]
    private let children = Mutex<[[String]: Child]>([:])
    private let makeChild: @Sendable () -> Child

    init(labelNames: [String], makeChild: @escaping @Sendable () -> Child) {
        self.labelNames = labelNames
        self.makeChild = makeChild
    }

    /// The child for `labelValues`, created if new.
    func child(_ labelValues: [String]) -> Child {
        precondition(
            labelValues.count == labelNames.count,
            "expected \(labelNames.count) label values (\(labelNames)), got \(labelValues.count)")
        return children.withLock { children in
            if let existing = children[labelValues] { return existing }
            let created = makeChild()
            children[labelValues] = created
            return created
        }
    }

    /// All children, ordered by their label values (so rendering is deterministic).
    func snapshot() -> [(labelValues: [String], child: Child)] {
        let all = children.withLock { children in children.map { (labelValues: $0.key, child: $0.value) } }
        return all.sorted { $0.labelValues.lexicographicallyPrecedes($1.labelValues) }
    }
}
