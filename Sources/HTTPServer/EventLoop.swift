import COpenSSL
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Receiver of readiness events for one file descriptor registered with an `EventLoop`.
protocol EventLoopHandler: AnyObject {
    /// Called on the loop thread with the `epoll` event mask.
    func handleEvent(_ events: UInt32)
}

/// One dedicated thread running an `epoll` loop: the place where every socket operation of the server
/// happens, so that handlers (async Swift code) never block on I/O and sockets are never shared.
///
/// Invariants: `handlers`, `connections` and every `Connection` registered here are touched only on this
/// loop's thread; other threads reach them through `execute(_:)`, whose closures run in FIFO order.
/// A timer tick (every `tickInterval`) drives connection timeouts.
final class EventLoop: @unchecked Sendable {
    let index: Int
    let epollFD: Int32
    private let wakeFD: Int32
    private let tickInterval: UInt64
    private let pending = Mutex<PendingTasks>(PendingTasks())
    private var handlers: [Int32: EventLoopHandler] = [:]
    /// Connections served by this loop, by file descriptor (loop thread only).
    var connections: [Int32: Connection] = [:]
    /// Called on each tick with the monotonic time in nanoseconds.
    var onTick: ((UInt64) -> Void)?
    private var isRunning = true
    private let finished = DispatchSemaphore(value: 0)
    /// Scratch buffer for socket reads, shared by the loop's connections.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Scratch buffer where a connection coalesces pending response chunks for one socket write.
    let writeBuffer: UnsafeMutableRawBufferPointer

    struct PendingTasks {
        var tasks: [@Sendable () -> Void] = []
        var isWakePending = false
        /// Set when the loop stopped and closed its descriptors; later tasks are dropped.
        var isClosed = false
    }

    init(index: Int, tickInterval: Duration) throws(HTTPServerError) {
        self.index = index
        self.tickInterval = max(tickInterval.nanoseconds, 1_000_000)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .systemCallFailed("epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            close(epollFD)
            throw .systemCallFailed("eventfd", errno: errno)
        }
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        writeBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
    }

    deinit {
        readBuffer.deallocate()
        writeBuffer.deallocate()
    }

    /// Starts the loop's thread.
    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "http-loop-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `task` on the loop thread, after tasks submitted before it. Safe from any thread; tasks
    /// submitted after the loop stopped are dropped.
    func execute(_ task: @escaping @Sendable () -> Void) {
        pending.withLock { state in
            guard !state.isClosed else { return }
            state.tasks.append(task)
            if state.isWakePending { return }
            state.isWakePending = true
            // Written under the lock so that it can never race with `stopAndJoin` closing the descriptor
            // (a reused descriptor number would otherwise receive these bytes).
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Asks the loop to exit after the current iteration and waits for its thread to end.
    func stopAndJoin() {
        execute { [self] in isRunning = false }
        finished.wait()
        pending.withLock { state in
            state.isClosed = true
            state.tasks.removeAll()
            close(wakeFD)
            close(epollFD)
        }
    }

    func register(_ fd: Int32, events: UInt32, handler: EventLoopHandler) {
        // A descriptor number still registered here can only come back from accept/socket if someone
        // closed it without unregistering (a double close elsewhere): catch that in debug builds.
        assert(handlers[fd] == nil, "descriptor \(fd) registered twice on loop \(index)")
        handlers[fd] = handler
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    func modify(_ fd: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    func unregister(_ fd: Int32) {
        handlers[fd] = nil
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    private func run() {
        let maxEvents = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: maxEvents)
        defer { events.deallocate() }
        var nextTick = Socket.now() + tickInterval
        while isRunning {
            let now = Socket.now()
            let timeoutMS = nextTick > now ? Int32((nextTick - now) / 1_000_000) + 1 : 0
            let count = epoll_wait(epollFD, events, Int32(maxEvents), timeoutMS)
            if count > 0 {
                for item in 0..<Int(count) {
                    let fd = events[item].data.fd
                    if fd == wakeFD {
                        var value: UInt64 = 0
                        _ = read(wakeFD, &value, 8)
                    } else {
                        handlers[fd]?.handleEvent(events[item].events)
                    }
                }
            }
            runPendingTasks()
            let afterEvents = Socket.now()
            if afterEvents >= nextTick {
                onTick?(afterEvents)
                nextTick = afterEvents + tickInterval
            }
        }
    }

    private func runPendingTasks() {
        while true {
            let tasks = pending.withLock { state -> [@Sendable () -> Void] in
                let tasks = state.tasks
                state.tasks.removeAll(keepingCapacity: true)
                if tasks.isEmpty { state.isWakePending = false }
                return tasks
            }
            if tasks.isEmpty { return }
            for task in tasks { task() }
        }
    }
}
