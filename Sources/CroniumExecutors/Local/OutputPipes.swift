import CroniumCore
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// A child's stdout and stderr, read on one event loop into one back-pressured sequence, so that
/// lines of the two streams reach the log in the order the script wrote them, and a script that
/// prints faster than the log can take is slowed down instead of filling memory.
struct OutputPipes {
    struct Chunk: Sendable {
        let stream: LogStream
        let bytes: ByteBuffer
    }

    typealias Chunks = NIOAsyncSequenceProducer<
        Chunk, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, ReadControl
    >

    /// Takes ownership of both descriptors and returns what they deliver, until both are closed.
    static func read(stdout: Int32, stderr: Int32) async -> Chunks {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let control = ReadControl(loop: loop)
        let produced = NIOAsyncSequenceProducer.makeSequence(
            elementType: Chunk.self,
            backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 4, highWatermark: 64),
            finishOnDeinit: false,
            delegate: control
        )
        let source = produced.source
        for (descriptor, stream) in [(stdout, LogStream.stdout), (stderr, .stderr)] {
            do {
                let channel = try await NIOPipeBootstrap(group: loop)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(Forwarder(stream: stream, source: source, control: control))
                        }
                    }
                    .takingOwnershipOfDescriptor(input: descriptor).get()
                loop.execute { control.add(channel) }
            } catch {
                // Not taken over: still ours to close, and one stream fewer to wait for.
                close(descriptor)
                loop.execute { control.streamEnded(source: source) }
            }
        }
        return produced.sequence
    }

    /// Pauses reading on both pipes while the consumer is behind, resumes when it asks for more.
    /// Its state is confined to the event loop.
    final class ReadControl: NIOAsyncSequenceProducerDelegate, @unchecked Sendable {
        private let loop: any EventLoop
        private var channels: [any Channel] = []
        private var paused = false
        private var endedStreams = 0

        init(loop: any EventLoop) { self.loop = loop }

        func add(_ channel: any Channel) {
            channels.append(channel)
            if paused { channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        }

        func pause() {
            loop.assertInEventLoop()
            guard !paused else { return }
            paused = true
            for channel in channels { channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        }

        func streamEnded(source: Chunks.Source) {
            loop.assertInEventLoop()
            endedStreams += 1
            if endedStreams == 2 { source.finish() }
        }

        func produceMore() {
            loop.execute {
                guard self.paused else { return }
                self.paused = false
                for channel in self.channels { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
            }
        }

        func didTerminate() {
            loop.execute {
                for channel in self.channels { channel.close(promise: nil) }
            }
        }
    }

    /// Hands each buffer read from one pipe to the shared sequence.
    private final class Forwarder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        let stream: LogStream
        let source: Chunks.Source
        let control: ReadControl

        init(stream: LogStream, source: Chunks.Source, control: ReadControl) {
            self.stream = stream
            self.source = source
            self.control = control
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .stopProducing = source.yield(Chunk(stream: stream, bytes: unwrapInboundIn(data))) { control.pause() }
        }

        func channelInactive(context: ChannelHandlerContext) {
            control.streamEnded(source: source)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
