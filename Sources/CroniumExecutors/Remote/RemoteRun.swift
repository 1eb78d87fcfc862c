import AsyncAlgorithms
import CroniumCore
import CroniumRunnerKit
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// One run on a server: `cronium-runner run` in a session channel of its own, the signed payload
/// as its first input frame, then its frames read until it reports the script's end. Output
/// frames become log lines; a helper's connection on the host becomes a connection of the server
/// to the run's runtime socket (``HelperRelay``), so no port is forwarded.
///
/// The engine's stop requests become `TERM` and `KILL` frames to the runner, which signals the
/// script's process group; a host that answers neither is let go 5 s after `KILL`. The runner
/// also stops the script when the session ends, so a lost connection leaves nothing running there.
struct RemoteRun: PreparedRun {
    /// The connection the run was prepared on (the runner is in place there).
    let connection: SSHConnection
    let placement: RemotePlacement
    let deployment: RunnerDeployment
    let deployed: DeployedRunners
    /// The payload frame, encoded.
    let payload: [UInt8]
    let runtimeSocket: String?
    /// What the runner may print on its own stderr (a shell's "not found", a crash) kept for the
    /// failure's message.
    static let runnerErrorBytes = 4096

    var server: String { placement.serverName }

    func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
        let signals = RunnerSignals()
        return await withTaskGroup(of: Arm.self) { group in
            group.addTask { .ended(await self.attempts(output: output, signals: signals)) }
            group.addTask {
                for await request in stops {
                    await signals.send(request)
                    if request == .kill { break }
                }
                guard signals.killed else { return .listened }
                // A host that answers neither (cut off, frozen) is not waited for any longer.
                do { try await Task.sleep(for: Self.answerAfterKill) } catch { return .listened }
                return .abandoned
            }
            while let arm = await group.next() {
                switch arm {
                case .ended(let outcome):
                    group.cancelAll()
                    return outcome
                case .abandoned:
                    // The try ends as a lost connection; the engine has its verdict already.
                    group.cancelAll()
                case .listened:
                    break
                }
            }
            preconditionFailure("the tries always report")
        }
    }

    /// How long a host has to end its run after `KILL`.
    static let answerAfterKill = Duration.seconds(5)

    private enum Arm: Sendable {
        case ended(ExecutionOutcome)
        case abandoned
        case listened
    }

    private func attempts(output: RunOutput, signals: RunnerSignals) async -> ExecutionOutcome {
        switch await attempt(on: connection, output: output, signals: signals) {
        case .ended(let outcome): return outcome
        case .notStarted(let reason, let cause):
            // Nothing ran: once more, on a new connection if this one broke (a pooled connection
            // whose host went away a moment ago), with the runner put back if it went missing
            // (a cache cleaned, another server's deployment). Not when the run was stopped.
            guard !signals.requested else { return .failure(.startFailed, "server \(server): \(reason)") }
            var fresh = connection
            do {
                if cause == .connectionBroke {
                    await connection.close()
                    fresh = try await placement.connect()
                } else {
                    deployed.forget(connection)
                }
                try await deployed.ensure(deployment, on: fresh)
            } catch {
                let code: ExecutionErrorCode = cause == .connectionBroke ? .connectionLost : .startFailed
                return .failure(code, "server \(server): \(reason); then: \(RemoteExecutor.describe(error, server: server))")
            }
            switch await attempt(on: fresh, output: output, signals: signals) {
            case .ended(let outcome): return outcome
            case .notStarted(let again, let cause):
                return .failure(cause == .connectionBroke ? .connectionLost : .startFailed, "server \(server): \(again)")
            }
        }
    }

    /// How one try ended: with the script's outcome, or before the script started.
    enum Attempt {
        case ended(ExecutionOutcome)
        case notStarted(String, NotStarted)
    }

    enum NotStarted {
        /// The connection was gone before the session opened.
        case connectionBroke
        /// The runner or its key was not found on the host.
        case runnerMissing
    }

    func teardown() async {}

    /// One try: the runner started in a session channel, fed the payload, the engine's signals and
    /// heartbeats, its frames read until the session ends. Everything it starts (the writer, the
    /// heartbeat, each helper connection) is a child task of the session and ends with it.
    private func attempt(on connection: SSHConnection, output: RunOutput, signals: RunnerSignals) async -> Attempt {
        do {
            return try await connection.exec(deployment.runCommand) { inbound, outbound in
                // Frames to the runner, one waiting at a time: a slow connection holds the senders back.
                let frames = AsyncChannel<[UInt8]>()
                let earlier = signals.attach(frames)
                defer {
                    signals.detach()
                    frames.finish()
                }
                return await withTaskGroup(of: Void.self) { group in
                    group.addTask { [payload] in
                        // A session that cannot be written to takes no more frames: its senders go on.
                        defer { frames.finish() }
                        do {
                            try await outbound.write(ByteBuffer(bytes: payload))
                            for request in earlier { try await outbound.write(ByteBuffer(bytes: RunnerSignals.frame(request))) }
                            for await bytes in frames { try await outbound.write(ByteBuffer(bytes: bytes)) }
                        } catch {}
                    }
                    // The runner stops its script when the server goes quiet (a network cut off).
                    group.addTask {
                        for await _ in AsyncTimerSequence(interval: .seconds(RunnerFrame.heartbeatSeconds), clock: .continuous) {
                            await frames.send(RunnerFrame(.heartbeat).encoded)
                        }
                    }
                    var relay = HelperRelay(socketPath: runtimeSocket, frames: frames)
                    let outcome = await read(inbound, relay: &relay, group: &group, output: output)
                    relay.closeAll()
                    frames.finish()
                    group.cancelAll()
                    return outcome
                }
            }
        } catch let error as SSHError where error.code == .disconnected {
            return .notStarted("could not start the run: \(error.description)", .connectionBroke)
        } catch {
            return .ended(.failure(.startFailed, "server \(server): could not start the run: \(RemoteExecutor.describe(error, server: nil))"))
        }
    }

    /// Reads the runner's frames until the session ends, and says how the run ended.
    private func read(
        _ inbound: NIOAsyncChannelInboundStream<SSHExecOutput>,
        relay: inout HelperRelay,
        group: inout TaskGroup<Void>,
        output: RunOutput
    ) async -> Attempt {
        var decoder = RunnerFrameDecoder()
        var lines = [LogStream.stdout: LineSplitter(), LogStream.stderr: LineSplitter()]
        var ended: (status: Int32, signal: String?)?
        var refusal: String?
        var runnerErrors = ""
        var lost: String?
        var started = false
        /// How the runner's own process ended (126, 127: the shell did not find it).
        var runnerStatus: Int32?
        do {
            for try await piece in inbound {
                switch piece {
                case .stdout(let bytes):
                    decoder.append(bytes.readableBytesView)
                    while let frame = try decoder.next() {
                        switch frame.kind {
                        case .started:
                            started = true
                        case .stdout, .stderr:
                            let stream: LogStream = frame.kind == .stdout ? .stdout : .stderr
                            let completed = frame.payload.withUnsafeBytes { lines[stream]!.feed($0) }
                            await output(stream, lines: completed)
                        case .requestOpen:
                            if let (id, _) = frame.connection { await relay.open(id, in: &group) }
                        case .requestData:
                            if let (id, bytes) = frame.connection { await relay.send(id, bytes) }
                        case .requestClose:
                            if let (id, _) = frame.connection { relay.close(id) }
                        case .exit where frame.payload.count >= 4:
                            let signal = String(decoding: frame.payload[4...], as: UTF8.self)
                            ended = (Int32(bitPattern: RunnerFrame.uint32(frame.payload[0..<4])), signal.isEmpty ? nil : signal)
                        case .failure:
                            refusal = String(decoding: frame.payload, as: UTF8.self)
                        default:
                            break
                        }
                    }
                case .stderr(let bytes):
                    if runnerErrors.utf8.count < Self.runnerErrorBytes { runnerErrors += String(buffer: bytes) }
                case .exit(let status):
                    runnerStatus = status
                case .signal:
                    break
                }
            }
        } catch let error as RunnerFrameError {
            lost = "the runner answered something else than its protocol (\(error.description))"
        } catch {
            lost = RemoteExecutor.describe(error, server: nil)
        }
        for stream in [LogStream.stdout, .stderr] {
            if let last = lines[stream]!.finish() { await output(stream, last) }
        }
        if let ended {
            switch (ended.status, ended.signal) {
            case (0, _): return .ended(.success)
            case (let status, .some(let signal)): return .ended(.failure(.killedBySignal, "killed by signal \(signal)", exitCode: Int(status)))
            case (let status, nil): return .ended(.failure(.exitStatus, "exited with status \(status)", exitCode: Int(status)))
            }
        }
        let said = runnerErrors.trimmingCharacters(in: .whitespacesAndNewlines)
        if !started, lost == nil, refusal?.contains("trusted key") ?? [126, 127].contains(runnerStatus) {
            return .notStarted("cronium-runner or its key is missing on the host (\(refusal ?? said))", .runnerMissing)
        }
        if let refusal { return .ended(.failure(.startFailed, "server \(server): cronium-runner refused the run: \(refusal)")) }
        let reason = lost ?? (said.isEmpty ? "the session ended before the script did" : said)
        return .ended(.failure(.connectionLost, "server \(server): lost the run: \(reason); the runner stops the script when its session ends"))
    }
}

/// The helpers' connections of one run: each connection the runner accepts on the host's socket
/// is a connection of the server to the run's runtime socket, the bytes relayed both ways in
/// frames, each connection a child task of the run's session. Bytes toward a connection wait in a
/// channel of their own, one piece at a time: a slow helper holds the session's reading back
/// instead of filling memory. A connection that cannot be made is closed on the host at once.
struct HelperRelay {
    let socketPath: String?
    let frames: AsyncChannel<[UInt8]>
    /// What each open connection is still to send to the runtime socket.
    private var writers: [UInt32: AsyncChannel<ByteBuffer>] = [:]

    init(socketPath: String?, frames: AsyncChannel<[UInt8]>) {
        self.socketPath = socketPath
        self.frames = frames
    }

    mutating func open(_ id: UInt32, in group: inout TaskGroup<Void>) async {
        guard let socketPath else { return await frames.send(RunnerFrame(.relayClose, connection: id).encoded) }
        let bytes = AsyncChannel<ByteBuffer>()
        writers[id] = bytes
        group.addTask { [frames] in await Self.serve(id, socketPath: socketPath, bytes: bytes, frames: frames) }
    }

    func send(_ id: UInt32, _ bytes: ArraySlice<UInt8>) async {
        await writers[id]?.send(ByteBuffer(bytes: bytes))
    }

    /// The helper closed its end on the host.
    mutating func close(_ id: UInt32) {
        writers.removeValue(forKey: id)?.finish()
    }

    func closeAll() {
        for writer in writers.values { writer.finish() }
    }

    /// One connection, until either side closes it; then the host's end is closed too.
    private static func serve(_ id: UInt32, socketPath: String, bytes: AsyncChannel<ByteBuffer>, frames: AsyncChannel<[UInt8]>) async {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(unixDomainSocketPath: socketPath) {
                channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
            try await channel.executeThenClose { inbound, outbound in
                // Whichever side closes first ends the connection.
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await piece in bytes {
                            do { try await outbound.write(piece) } catch { return }
                        }
                    }
                    group.addTask {
                        do {
                            for try await piece in inbound {
                                await frames.send(RunnerFrame(.relayData, connection: id, Array(buffer: piece)).encoded)
                            }
                        } catch {}
                    }
                    await group.next()
                    group.cancelAll()
                }
            }
        } catch {}
        // Bytes the host still sends for this connection are dropped, not waited on.
        bytes.finish()
        await frames.send(RunnerFrame(.relayClose, connection: id).encoded)
    }
}

/// The engine's stop requests as signal frames to the runner of whichever try is going on; a try
/// that starts after a request sends it first.
final class RunnerSignals: Sendable {
    private let state = Mutex<(sent: [StopRequest], frames: AsyncChannel<[UInt8]>?)>(([], nil))

    /// Whether the engine asked the run to stop.
    var requested: Bool { state.withLock { !$0.sent.isEmpty } }
    var killed: Bool { state.withLock { $0.sent.contains(.kill) } }

    func send(_ request: StopRequest) async {
        let frames = state.withLock { state in
            state.sent.append(request)
            return state.frames
        }
        await frames?.send(Self.frame(request))
    }

    /// The try's frames from now on; returns the requests made before it.
    func attach(_ frames: AsyncChannel<[UInt8]>) -> [StopRequest] {
        state.withLock { state in
            state.frames = frames
            return state.sent
        }
    }

    func detach() { state.withLock { $0.frames = nil } }

    static func frame(_ request: StopRequest) -> [UInt8] {
        RunnerFrame(.signal, Array((request == .terminate ? "TERM" : "KILL").utf8)).encoded
    }
}
