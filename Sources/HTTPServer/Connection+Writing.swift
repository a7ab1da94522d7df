import COpenSSL
import HTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// Output side of a connection: draining the shared buffer, finishing a response, timeouts and closing.
extension Connection {
    /// Writes buffered response bytes until the buffer is empty or the socket is full.
    func flush() {
        isWaitingForReadableToWrite = false
        while state != .closed {
            let numPending = output.copyPending(into: loop.writeBuffer)
            if numPending == 0 { break }
            switch transport.write(UnsafeRawBufferPointer(rebasing: loop.writeBuffer[0..<numPending])) {
            case .bytes(let count):
                lastWriteProgress = Socket.now()
                output.consume(count)
            case .wantWrite:
                if !isWaitingForWritable { lastWriteProgress = Socket.now() }
                isWaitingForWritable = true
                updateInterest()
                return
            case .wantRead:
                isWaitingForReadableToWrite = true
                return
            case .endOfStream, .failed:
                close()
                return
            }
        }
        guard state != .closed else { return }
        if isWaitingForWritable {
            isWaitingForWritable = false
            updateInterest()
        }
        if state == .responding && isResponseFinished { completeResponse() }
    }

    /// From a writer (any thread): output was enqueued, drain it on the loop.
    func scheduleFlush() {
        loop.execute { [self] in
            if state != .closed { flush() }
        }
    }

    /// From a writer (any thread): the response is complete.
    func scheduleResponseFinished(_ writer: ResponseWriter, isKeepAlive: Bool) {
        loop.execute { [self] in
            guard state == .responding, writer === self.writer else { return }
            self.isKeepAlive = self.isKeepAlive && isKeepAlive
            isResponseFinished = true
            flush()
        }
    }

    /// From a writer (any thread): the handler failed mid-response; the response cannot be completed.
    func scheduleAbort() {
        loop.execute { [self] in close() }
    }

    /// The current response is fully written: serve the next request or close.
    private func completeResponse() {
        writer = nil
        head = nil
        isResponseFinished = false
        if isKeepAlive && !server.isShuttingDown {
            state = .awaitingRequest
            setDeadline(.idle, now: Socket.now())
            if isReadPaused {
                isReadPaused = false
                updateInterest()
            }
            processInput()
            if state == .awaitingRequest && transport.isTLS { readAvailable() }
        } else {
            transport.shutdownOutput()
            state = .lingering
            setDeadline(.linger, now: Socket.now())
            if isReadPaused {
                isReadPaused = false
                updateInterest()
            }
        }
    }

    /// Called on each loop tick.
    func checkTimeouts(now: UInt64) {
        if isWaitingForWritable && now > lastWriteProgress + server.config.writeTimeout.nanoseconds {
            server.logger.debug("write timeout", ["remote": remoteAddress])
            close()
            return
        }
        guard deadlineKind != .none, now >= deadline else { return }
        switch deadlineKind {
        case .head, .body:
            if state == .handshaking {
                close()
            } else {
                sendServerResponse(
                    HTTPError(status: .requestTimeout, message: "request not received in time", code: "request_timeout")
                )
            }
        case .idle, .linger, .none:
            close()
        }
    }

    /// Whether graceful shutdown may close this connection at once (no request in progress).
    var isIdleForShutdown: Bool {
        switch state {
        case .awaitingRequest: parser.isIdle
        case .handshaking, .lingering: true
        case .readingBody, .responding, .closed: false
        }
    }

    /// Closes the socket now; a response in progress is abandoned and its writer told.
    func close() {
        guard state != .closed else { return }
        state = .closed
        loop.unregister(fd)
        loop.connections[fd] = nil
        transport.close()
        server.connectionDidClose(isRejected: isRejected)
        writer = nil
        output.close()
    }
}
