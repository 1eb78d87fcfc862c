import NIOCore
import NIOSSH

/// What a remote command sends back: its output, then how it ended. Output may still come after
/// the exit status (the host sends the status as soon as the process ends, then drains its
/// buffers); the stream ends when the host closes the channel.
public enum SSHExecOutput: Sendable {
    case stdout(ByteBuffer)
    case stderr(ByteBuffer)
    case exit(Int32)
    /// Ended by a signal (`TERM`, `KILL`…).
    case signal(String)
}

/// A finished command's whole output (within a limit) and its status.
public struct SSHExecResult: Sendable {
    public var status: Int32?
    public var signal: String?
    public var stdout: String
    public var stderr: String

    public var succeeded: Bool { status == 0 }
}

extension SSHConnection {
    public typealias ExecChannel = NIOAsyncChannel<SSHExecOutput, ByteBuffer>

    /// Runs `command` in a session channel of its own; `body` reads its output and writes its
    /// input (finishing the writer sends end-of-file). The channel is closed when `body` returns.
    public func exec<T: Sendable>(
        _ command: String,
        _ body: (NIOAsyncChannelInboundStream<SSHExecOutput>, NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> T
    ) async throws -> T {
        let target = target
        let opened: (ExecChannel, EventLoopFuture<Void>)
        do {
            opened = try await channel.eventLoop.flatSubmit { [channel] in
                let promise = channel.eventLoop.makePromise(of: (ExecChannel, EventLoopFuture<Void>).self)
                do {
                    let ssh = try channel.pipeline.syncOperations.handler(type: NIOSSHHandler.self)
                    ssh.createChannel(nil, channelType: .session) { child, _ in
                        child.eventLoop.makeCompletedFuture {
                            let handler = SSHExecHandler(command: command, target: target)
                            try child.pipeline.syncOperations.addHandler(handler)
                            try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                            let wrapped = try ExecChannel(
                                wrappingChannelSynchronously: child,
                                configuration: .init(isOutboundHalfClosureEnabled: true)
                            )
                            promise.succeed((wrapped, handler.accepted.futureResult))
                        }.flatMapErrorThrowing { error in
                            promise.fail(error)
                            throw error
                        }
                    }
                } catch {
                    promise.fail(error)
                }
                return promise.futureResult
            }.get()
            try await opened.1.get()
        } catch {
            throw Self.reason(error, target: target)
        }
        // The body's result leaves as an error: `executeThenClose` asserts that a channel's close
        // never fails when the body returns, and an SSH session's close fails when its connection
        // dropped (`tcpShutdown`); for a body that throws, it closes without that assertion.
        do {
            _ = try await opened.0.executeThenClose { inbound, outbound -> Never in throw Returned(value: try await body(inbound, outbound)) }
        } catch let returned as Returned<T> {
            return returned.value
        }
    }

    /// Carries `exec`'s result out of `executeThenClose`.
    private struct Returned<T: Sendable>: Error {
        let value: T
    }

    /// Runs `command` with `input` (if any) and collects what it prints, up to `limit` bytes of
    /// each stream: for short commands (checks, deployment), not for runs.
    public func run(_ command: String, input: ByteBuffer? = nil, limit: Int = 1 << 20) async throws -> SSHExecResult {
        try await exec(command) { inbound, outbound in
            if let input { try await outbound.write(input) }
            outbound.finish()
            var result = SSHExecResult(status: nil, signal: nil, stdout: "", stderr: "")
            var (out, err) = (ByteBuffer(), ByteBuffer())
            do {
                for try await piece in inbound {
                    switch piece {
                    case .stdout(var bytes): if out.readableBytes < limit { out.writeBuffer(&bytes) }
                    case .stderr(var bytes): if err.readableBytes < limit { err.writeBuffer(&bytes) }
                    case .exit(let status): result.status = status
                    case .signal(let name): result.signal = name
                    }
                }
            } catch {
                // The command had ended: what broke was only the channel's closing.
                if result.status == nil && result.signal == nil { throw error }
            }
            result.stdout = String(buffer: out)
            result.stderr = String(buffer: err)
            return result
        }
    }
}

/// Asks for the command once the channel is open, turns SSH's channel data and requests into
/// ``SSHExecOutput``, and sends what is written as the command's standard input.
final class SSHExecHandler: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias InboundOut = SSHExecOutput
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = SSHChannelData

    let command: String
    let target: SSHTarget
    var accepted: EventLoopPromise<Void>!

    init(command: String, target: SSHTarget) {
        self.command = command
        self.target = target
    }

    func handlerAdded(context: ChannelHandlerContext) {
        accepted = context.eventLoop.makePromise()
        if context.channel.isActive { requestExec(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        requestExec(context: context)
        context.fireChannelActive()
    }

    private var requested = false
    private func requestExec(context: ChannelHandlerContext) {
        guard !requested else { return }
        requested = true
        context.triggerUserOutboundEvent(SSHChannelRequestEvent.ExecRequest(command: command, wantReply: true), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let data = unwrapInboundIn(data)
        guard case .byteBuffer(let bytes) = data.data else { return }
        context.fireChannelRead(wrapInboundOut(data.type == .stdErr ? .stderr(bytes) : .stdout(bytes)))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let status as SSHChannelRequestEvent.ExitStatus:
            context.fireChannelRead(wrapInboundOut(.exit(Int32(truncatingIfNeeded: status.exitStatus))))
        case let signal as SSHChannelRequestEvent.ExitSignal:
            context.fireChannelRead(wrapInboundOut(.signal(signal.signalName)))
        case is ChannelSuccessEvent:
            accepted.succeed(())
        case is ChannelFailureEvent:
            accepted.fail(SSHError(.refused, "\(target.label) refused to run the command"))
        case ChannelEvent.inputClosed:
            // The host's end-of-file: its exit status may still come, so the stream ends at close.
            break
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// The host closed the channel: an end-of-file sent now would break the protocol.
    private var closed = false

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output && (closed || !context.channel.isActive) { promise?.succeed(()); return }
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        accepted.fail(SSHError(.disconnected, "the session on \(target.label) closed before the command started"))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        accepted.fail(SSHError(.disconnected, "the session on \(target.label) closed before the command started"))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(unwrapOutboundIn(data)))), promise: promise)
    }
}
