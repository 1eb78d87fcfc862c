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
/// Cancelling the task that awaits `run` sends `TERM` to the script's process group, `KILL` after
/// the grace period, and lets the session go if the host answers neither; the runner also stops
/// the script when the session ends, so a lost connection leaves nothing running there.
struct RemoteRun: PreparedRun {
    /// The connection the run was prepared on (the runner is in place there).
    let connection: SSHConnection
    let placement: RemotePlacement
    let deployment: RunnerDeployment
    let deployed: DeployedRunners
    /// The payload frame, encoded.
    let payload: [UInt8]
    let runtimeSocket: String?
    let gracePeriod: Duration
    /// What the runner may print on its own stderr (a shell's "not found", a crash) kept for the
    /// failure's message.
    static let runnerErrorBytes = 4096

    var server: String { placement.serverName }

    func run(output: RunOutput) async -> ExecutionOutcome {
        switch await attempt(on: connection, output: output) {
        case .ended(let outcome): return outcome
        case .notStarted(let reason, let cause):
            // Nothing ran: once more, on a new connection if this one broke (a pooled connection
            // whose host went away a moment ago), with the runner put back if it went missing
            // (a cache cleaned, another server's deployment).
            guard !Task.isCancelled else { return .failure(.startFailed, "server \(server): \(reason)") }
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
            switch await attempt(on: fresh, output: output) {
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

    private func attempt(on connection: SSHConnection, output: RunOutput) async -> Attempt {
        let (frames, sender) = AsyncStream.makeStream(of: [UInt8].self)
        sender.yield(payload)
        // Not a child task: a cancel must reach the script through the runner, and what the
        // script prints while it stops must still be read.
        let session = Task { await self.execute(on: connection, frames: frames, sender: sender, output: output) }
        return await withTaskCancellationHandler {
            await session.value
        } onCancel: {
            Task { [gracePeriod] in
                sender.yield(RunnerFrame(.signal, Array("TERM".utf8)).encoded)
                try await Task.sleep(for: gracePeriod)
                sender.yield(RunnerFrame(.signal, Array("KILL".utf8)).encoded)
                // A host that answers neither (cut off, frozen) is not waited for any longer.
                try await Task.sleep(for: .seconds(5))
                session.cancel()
            }
        }
    }

    func teardown() async {}

    private func execute(on connection: SSHConnection, frames: AsyncStream<[UInt8]>, sender: AsyncStream<[UInt8]>.Continuation, output: RunOutput)
        async -> Attempt
    {
        let relay = HelperRelay(socketPath: runtimeSocket, sender: sender)
        defer {
            sender.finish()
            relay.closeAll()
        }
        do {
            return try await connection.exec(deployment.runCommand) { inbound, outbound in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await bytes in frames {
                            do { try await outbound.write(ByteBuffer(bytes: bytes)) } catch { return }
                        }
                    }
                    // The runner stops its script when the server goes quiet (a network cut off).
                    group.addTask {
                        while (try? await Task.sleep(for: .seconds(RunnerFrame.heartbeatSeconds))) != nil {
                            sender.yield(RunnerFrame(.heartbeat).encoded)
                        }
                    }
                    let outcome = await read(inbound, relay: relay, output: output)
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
    private func read(_ inbound: NIOAsyncChannelInboundStream<SSHExecOutput>, relay: HelperRelay, output: RunOutput) async -> Attempt {
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
                            if let (id, _) = frame.connection { relay.open(id) }
                        case .requestData:
                            if let (id, bytes) = frame.connection { relay.send(id, bytes) }
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
/// frames. A connection that cannot be made is closed on the host at once.
final class HelperRelay: Sendable {
    let socketPath: String?
    let sender: AsyncStream<[UInt8]>.Continuation
    /// What each open connection is still to send to the runtime socket.
    private let writers = Mutex<[UInt32: AsyncStream<ByteBuffer>.Continuation]>([:])

    init(socketPath: String?, sender: AsyncStream<[UInt8]>.Continuation) {
        self.socketPath = socketPath
        self.sender = sender
    }

    func open(_ id: UInt32) {
        guard let socketPath else { return closeOnHost(id) }
        let (bytes, writer) = AsyncStream.makeStream(of: ByteBuffer.self)
        writers.withLock { $0[id] = writer }
        Task {
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
                        group.addTask { [sender] in
                            do {
                                for try await piece in inbound { sender.yield(RunnerFrame(.relayData, connection: id, Array(buffer: piece)).encoded) }
                            } catch {}
                        }
                        await group.next()
                        group.cancelAll()
                    }
                }
            } catch {}
            writer.finish()
            writers.withLock { _ = $0.removeValue(forKey: id) }
            closeOnHost(id)
        }
    }

    func send(_ id: UInt32, _ bytes: ArraySlice<UInt8>) {
        _ = writers.withLock { $0[id] }?.yield(ByteBuffer(bytes: bytes))
    }

    /// The helper closed its end on the host.
    func close(_ id: UInt32) {
        writers.withLock { $0.removeValue(forKey: id) }?.finish()
    }

    func closeAll() {
        for writer in writers.withLock({ writers in
            defer { writers = [:] }; return Array(writers.values)
        }) { writer.finish() }
    }

    private func closeOnHost(_ id: UInt32) {
        sender.yield(RunnerFrame(.relayClose, connection: id).encoded)
    }
}
