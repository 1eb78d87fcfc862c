import Foundation
import NIOCore
import NIOPosix
import NIOSSH
import Synchronization

/// How Cronium logs in on a host: a private key or a password, opened from their sealed form.
public enum SSHCredential: Sendable {
    case privateKey(NIOSSHPrivateKey)
    case password(String)
}

/// Where and as whom to connect, and which host keys to trust.
public struct SSHTarget: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var credential: SSHCredential
    /// Normalised OpenSSH public key lines (``HostKeys/normalised(_:)``); empty: trust none, and
    /// report the key the host offers (``SSHError/Code/hostKeyNotPinned``).
    public var pinnedHostKeys: [String]

    public init(host: String, port: Int = 22, username: String, credential: SSHCredential, pinnedHostKeys: [String]) {
        self.host = host
        self.port = port
        self.username = username
        self.credential = credential
        self.pinnedHostKeys = pinnedHostKeys
    }

    /// `user@host:port`, for messages.
    public var label: String { "\(username)@\(host):\(port)" }
}

/// One logged-in SSH connection; many commands run over it at once, each in a session channel
/// of its own (``exec(_:_:)``).
public final class SSHConnection: Sendable {
    let channel: any Channel
    public let target: SSHTarget
    /// Tells this connection from the ones made before and after it (to the same host too): what
    /// was set up over one is known only for it.
    public let serial: UInt64

    private static let made = Atomic<UInt64>(0)

    init(channel: any Channel, target: SSHTarget) {
        self.channel = channel
        self.target = target
        self.serial = Self.made.add(1, ordering: .relaxed).newValue
    }

    /// Opens a connection, checks the host's key against the pinned ones and logs in, all within
    /// `timeout`.
    public static func connect(
        to target: SSHTarget,
        timeout: Duration = .seconds(10),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(SSHError) -> SSHConnection {
        let channel: any Channel
        let eventLoop = group.next()
        // Made here, not looked up in the pipeline later: a refused connection may be closed,
        // its handlers gone, before the lookup.
        let loggedIn = eventLoop.makePromise(of: Void.self)
        do {
            let timeoutAmount = TimeAmount.nanoseconds(
                Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            )
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeoutAmount)
                .channelOption(ChannelOptions.socket(SocketOptionLevel(IPPROTO_TCP), TCP_NODELAY), value: 1)
                // Keep-alives: a host that stops answering (cut off, frozen) is let go after about
                // 30 s, idle or not, so its runs fail instead of waiting for their timeouts.
                .channelOption(ChannelOptions.socket(SocketOptionLevel(SOL_SOCKET), SO_KEEPALIVE), value: 1)
                .channelOption(ChannelOptions.socket(SocketOptionLevel(IPPROTO_TCP), TCP_KEEPIDLE), value: 10)
                .channelOption(ChannelOptions.socket(SocketOptionLevel(IPPROTO_TCP), TCP_KEEPINTVL), value: 5)
                .channelOption(ChannelOptions.socket(SocketOptionLevel(IPPROTO_TCP), TCP_KEEPCNT), value: 4)
                .channelOption(ChannelOptions.socket(SocketOptionLevel(IPPROTO_TCP), TCP_USER_TIMEOUT), value: 30_000)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let configuration = SSHClientConfiguration(
                            userAuthDelegate: CredentialOffer(target: target),
                            serverAuthDelegate: HostKeyCheck(target: target)
                        )
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSHHandler(role: .client(configuration), allocator: channel.allocator, inboundChildChannelInitializer: nil)
                        )
                        try channel.pipeline.syncOperations.addHandler(LoginWatcher(target: target, timeout: timeoutAmount, loggedIn: loggedIn))
                    }
                }
                .connect(host: target.host, port: target.port).get()
        } catch {
            loggedIn.fail(error)
            throw Self.reason(error, target: target)
        }
        do {
            try await loggedIn.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw Self.reason(error, target: target)
        }
        return SSHConnection(channel: channel, target: target)
    }

    public var isActive: Bool { channel.isActive }

    public func close() async {
        try? await channel.close()
    }

    /// Resolves when the connection has gone, for whatever reason.
    public func closed() async {
        try? await channel.closeFuture.get()
    }

    /// An error of NIO or NIOSSH in the words of ``SSHError``.
    static func reason(_ error: any Error, target: SSHTarget) -> SSHError {
        if let error = error as? SSHError { return error }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return SSHError(.timeout, "\(target.host):\(target.port) did not answer in time")
        }
        if let error = error as? NIOConnectionError {
            let cause =
                error.connectionErrors.first.map { describe($0.error) } ?? error.dnsAAAAError.map(describe) ?? error.dnsAError.map(describe)
                ?? "unknown"
            return SSHError(.unreachable, "cannot connect to \(target.host):\(target.port): \(cause)")
        }
        if let error = error as? IOError { return SSHError(.unreachable, "cannot connect to \(target.host):\(target.port): \(describe(error))") }
        if let error = error as? NIOSSHError, error.type == .keyExchangeNegotiationFailure {
            return SSHError(
                .refused,
                "\(target.host):\(target.port) offers no key exchange, cipher or host key type Cronium supports (Ed25519 or ECDSA host keys, AES-GCM)"
            )
        }
        if error is ChannelError { return SSHError(.disconnected, "the connection to \(target.label) closed") }
        return SSHError(.disconnected, "the SSH connection to \(target.label) failed: \(error)")
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? SocketAddressError, case .unknown(let host, _) = error { return "no address found for \(host)" }
        if let error = error as? ChannelError, case .connectTimeout = error { return "timed out" }
        return "\(error)"
    }
}

/// Fulfils `loggedIn` once the host has accepted the credentials, or fails it with the first
/// error (or the connection's end, or the timeout).
final class LoginWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any
    let target: SSHTarget
    let timeout: TimeAmount
    let loggedIn: EventLoopPromise<Void>
    private var done = false
    private var timer: Scheduled<Void>?

    init(target: SSHTarget, timeout: TimeAmount, loggedIn: EventLoopPromise<Void>) {
        self.target = target
        self.timeout = timeout
        self.loggedIn = loggedIn
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let target = target
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (watcher, context) = bound.value
            watcher.finish(.failure(SSHError(.timeout, "\(target.label) did not finish logging in in time")))
            context.close(promise: nil)
        }
    }

    func finish(_ result: Result<Void, any Error>) {
        guard !done else { return }
        done = true
        timer?.cancel()
        loggedIn.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is UserAuthSuccessEvent { finish(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(SSHError(.disconnected, "\(target.host):\(target.port) closed the connection before Cronium had logged in")))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(.failure(SSHError(.disconnected, "the connection to \(target.label) closed")))
    }
}

/// Trusts only a pinned key; any other is refused, naming both fingerprints.
final class HostKeyCheck: NIOSSHClientServerAuthenticationDelegate {
    let target: SSHTarget

    init(target: SSHTarget) { self.target = target }

    func validateHostKey(hostKey: NIOSSHPublicKey, validationCompletePromise: EventLoopPromise<Void>) {
        let offered = HostKeys.normalised(String(openSSHPublicKey: hostKey)) ?? String(openSSHPublicKey: hostKey)
        let fingerprint = HostKeys.fingerprint(of: offered) ?? "?"
        if target.pinnedHostKeys.contains(offered) { return validationCompletePromise.succeed(()) }
        if target.pinnedHostKeys.isEmpty {
            return validationCompletePromise.fail(
                SSHError(
                    .hostKeyNotPinned,
                    "\(target.host):\(target.port) offers the \(HostKeys.type(of: offered)) key \(fingerprint), which is not pinned yet",
                    offeredHostKey: offered
                )
            )
        }
        let pinned = target.pinnedHostKeys.compactMap(HostKeys.fingerprint(of:)).joined(separator: ", ")
        validationCompletePromise.fail(
            SSHError(
                .hostKeyChanged,
                "the host key of \(target.host):\(target.port) has changed: it offers \(fingerprint), but \(pinned) is pinned. Someone may be intercepting the connection; if the host's key was changed on purpose, pin the new one",
                offeredHostKey: offered
            )
        )
    }
}

/// Offers the one credential once; a second question means the host refused it.
final class CredentialOffer: NIOSSHClientUserAuthenticationDelegate {
    let target: SSHTarget
    private var offered = false

    init(target: SSHTarget) { self.target = target }

    func nextAuthenticationType(
        availableMethods: NIOSSHAvailableUserAuthenticationMethods,
        nextChallengePromise: EventLoopPromise<NIOSSHUserAuthenticationOffer?>
    ) {
        let (kind, method): (String, NIOSSHAvailableUserAuthenticationMethods) =
            switch target.credential {
            case .privateKey: ("key", .publicKey)
            case .password: ("password", .password)
            }
        if offered {
            return nextChallengePromise.fail(
                SSHError(.authenticationFailed, "\(target.host):\(target.port) refused the \(kind) for user \(target.username)")
            )
        }
        guard availableMethods.contains(method) else {
            return nextChallengePromise.fail(
                SSHError(.authenticationFailed, "\(target.host):\(target.port) does not let user \(target.username) log in with a \(kind)")
            )
        }
        offered = true
        switch target.credential {
        case .privateKey(let key):
            nextChallengePromise.succeed(.init(username: target.username, serviceName: "", offer: .privateKey(.init(privateKey: key))))
        case .password(let password):
            nextChallengePromise.succeed(.init(username: target.username, serviceName: "", offer: .password(.init(password: password))))
        }
    }
}
