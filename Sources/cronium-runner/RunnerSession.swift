import CCroniumSystem
import CroniumRunnerKit

#if canImport(Glibc)
    import Glibc
#endif

/// One run on the host: takes the signed payload, lays it out in a private work directory, runs
/// the script in a session (and process group) of its own, and relays between the script and
/// the server over standard input and output: its output, its helpers' connections (a unix
/// socket in the work directory), the server's signals. When the SSH session ends (standard
/// input closes) the script is stopped; when the script ends its group is killed, so nothing is
/// left running; the work directory is always removed.
final class RunnerSession {
    let trustedKeyFile: String
    /// How long a stopped script has between TERM and KILL.
    static let grace = 2.0

    private var decoder = RunnerFrameDecoder()
    private var workDirectory: String?
    private var directoryLock: Int32 = -1
    private var child: pid_t = 0
    private var exitWatch: Int32 = -1
    private var outputs: [Int32: RunnerFrameKind] = [:]
    private var listener: Int32 = -1
    private var connections: [UInt32: Int32] = [:]
    private var nextConnection: UInt32 = 1
    private var status: (code: Int32, signal: String?)?
    private var terminateAt: Double?
    private var killAt: Double?
    /// When the script is stopped unless the server is heard from again (heartbeats).
    private var silentUntil: Double?
    private var silenceLimit = RunnerManifest.defaultSilenceLimit
    /// After the script ended, its output still open (held by something that left its group) is
    /// closed at this time.
    private var drainUntil: Double?

    init(trustedKeyFile: String) {
        self.trustedKeyFile = trustedKeyFile
    }

    func run() -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        defer { removeWorkDirectory() }
        guard let payload = readPayload() else { return 1 }
        do {
            let (manifest, files) = try RunnerPayload.open(payload, trusting: try trustedKey())
            try lay(out: files, for: manifest)
            try start(manifest)
        } catch {
            send(RunnerFrame(.failure, Array("\(error)".utf8)))
            return 1
        }
        relay()
        let (code, signalName) = status ?? (-1, nil)
        send(RunnerFrame(.exit, RunnerFrame.bigEndian(UInt32(bitPattern: code)) + Array((signalName ?? "").utf8)))
        return 0
    }

    // MARK: The payload

    /// Frames until the payload; nil if the session ended first.
    private func readPayload() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            do {
                if let frame = try decoder.next() {
                    if frame.kind == .payload { return frame.payload }
                    continue
                }
            } catch {
                send(RunnerFrame(.failure, Array(error.description.utf8)))
                return nil
            }
            let count = read(0, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            decoder.append(buffer[0..<count])
        }
    }

    private func trustedKey() throws -> [UInt8] {
        guard let text = FileSystem.contents(of: trustedKeyFile), let key = base64Decoded(String(decoding: text, as: UTF8.self)), key.count == 32
        else { throw RunnerError("the trusted key \(trustedKeyFile) is missing or damaged: Cronium installs it with the runner") }
        return key
    }

    /// The files under a new private directory: `$HOME/.cache/cronium/runs/<execution>-<random>`.
    private func lay(out files: [Tar.Entry], for manifest: RunnerManifest) throws {
        let home = FileSystem.environment("HOME") ?? "/tmp"
        let runs = "\(home)/.cache/cronium/runs"
        try FileSystem.makeDirectories(runs)
        Self.removeAbandoned(in: runs)
        let directory = "\(runs)/\(manifest.execution.id)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        guard mkdir(directory, 0o700) == 0 else { throw RunnerError("cannot create \(directory): \(String(cString: strerror(errno)))") }
        workDirectory = directory
        // Held until this process ends, however it ends: a directory whose lock is free was left
        // by a runner that was killed (by its own script, say), and the next runner removes it.
        directoryLock = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryLock >= 0 { _ = flock(directoryLock, LOCK_EX | LOCK_NB) }
        guard mkdir("\(directory)/work", 0o700) == 0 else {
            throw RunnerError("cannot create \(directory)/work: \(String(cString: strerror(errno)))")
        }
        for file in files {
            let path = "\(directory)/payload/\(file.path)"
            if file.isDirectory {
                try FileSystem.makeDirectories(path)
                continue
            }
            try FileSystem.makeDirectories(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]))
            // O_EXCL and O_NOFOLLOW: a name the archive lists twice, or a link, is never written through.
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(file.mode & 0o700))
            guard fd >= 0 else { throw RunnerError("cannot write \(file.path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            guard writeAll(fd, file.contents) else { throw RunnerError("cannot write \(file.path): \(String(cString: strerror(errno)))") }
        }
    }

    /// Removes the run directories under `runs` that no runner holds: their runners were killed
    /// before they could clean up. A directory younger than a minute is left alone (its runner
    /// may not have locked it yet).
    static func removeAbandoned(in runs: String) {
        guard let names = FileSystem.entries(of: runs) else { return }
        for name in names {
            let path = "\(runs)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, Double(info.st_mtim.tv_sec) < now() - 60 else { continue }
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { FileSystem.removeTree(path) }
            close(fd)
        }
    }

    // MARK: The script

    private func start(_ manifest: RunnerManifest) throws {
        guard let directory = workDirectory else { return }
        let socketPath = "\(directory)/runtime.sock"
        listener = try Self.listen(on: socketPath)
        var environment = manifest.environment
        for name in ["PATH", "HOME", "USER", "LOGNAME", "LANG", "SHELL"] where environment[name] == nil {
            environment[name] = FileSystem.environment(name)
        }
        environment["CRONIUM_RUNTIME_URL"] = "unix:\(socketPath)"
        let helpers = "\(directory)/payload/helpers"
        if FileSystem.exists(helpers) {
            environment["PYTHONPATH"] = ["\(helpers)/python", environment["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":")
            environment["NODE_PATH"] = ["\(helpers)/node", environment["NODE_PATH"]].compactMap { $0 }.joined(separator: ":")
            environment["BASH_ENV"] = "\(helpers)/bash/autoload.sh"
        }
        guard let interpreter = manifest.interpreter.first, let path = Self.find(interpreter, in: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw RunnerError("\(manifest.interpreter.first ?? "the interpreter") is not installed on this host (looked in PATH)")
        }
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard cronium_pipe(&out) == 0, cronium_pipe(&err) == 0 else { throw RunnerError("cannot make pipes: \(String(cString: strerror(errno)))") }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer {
            close(null)
            close(out[1])
            close(err[1])
        }
        let argv = ([path] + manifest.interpreter.dropFirst() + ["\(directory)/payload/\(manifest.entrypoint)"]).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        var failedStep: UnsafePointer<CChar>?
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                "\(directory)/work".withCString { cwd in
                    var request = cronium_spawn_request()
                    request.path = UnsafePointer(argvBuffer[0])
                    request.argv = argvBuffer.baseAddress
                    request.envp = envpBuffer.baseAddress
                    request.cwd = cwd
                    request.stdin_fd = null
                    request.stdout_fd = out[1]
                    request.stderr_fd = err[1]
                    return cronium_spawn(&request, &pid, &failedStep)
                }
            }
        }
        guard result == 0 else {
            close(out[0])
            close(err[0])
            throw RunnerError("cannot start \(path) (\(failedStep.map { String(cString: $0) } ?? "spawn")): \(String(cString: strerror(result)))")
        }
        child = pid
        outputs = [out[0]: .stdout, err[0]: .stderr]
        exitWatch = cronium_pidfd_open(pid)
        if let deadline = manifest.deadline { terminateAt = deadline + 5 }
        silenceLimit = manifest.silenceLimit ?? RunnerManifest.defaultSilenceLimit
        silentUntil = Self.now() + silenceLimit
        send(RunnerFrame(.started, RunnerFrame.bigEndian(UInt32(bitPattern: pid))))
    }

    // MARK: The relay

    private func relay() {
        var inputOpen = true
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while status == nil || !outputs.isEmpty {
            var watched: [pollfd] = []
            if inputOpen { watched.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            for fd in outputs.keys { watched.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            if listener >= 0 && status == nil { watched.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0)) }
            for fd in connections.values { watched.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            if exitWatch >= 0 && status == nil { watched.append(pollfd(fd: exitWatch, events: Int16(POLLIN), revents: 0)) }
            // Without a pidfd (kernels before 5.3) the child is looked at every 50 ms.
            let timeout = min(nextTimer(), exitWatch < 0 && status == nil ? 50 : Int32.max)
            let ready = poll(&watched, nfds_t(watched.count), timeout)
            if ready < 0 && errno != EINTR { break }
            checkTimers()
            if status == nil && (exitWatch < 0 || watched.contains { $0.fd == exitWatch && $0.revents != 0 }) { reap() }
            for entry in watched where entry.revents != 0 {
                if entry.fd == 0 {
                    let count = read(0, &buffer, buffer.count)
                    if count > 0 {
                        if silentUntil != nil { silentUntil = Self.now() + silenceLimit }
                        decoder.append(buffer[0..<count])
                        handleFrames()
                    } else if count == 0 || errno != EINTR {
                        // The SSH session is gone: nobody will read the output, so stop the script.
                        inputOpen = false
                        stop(now: true)
                    }
                } else if let kind = outputs[entry.fd] {
                    let count = read(entry.fd, &buffer, buffer.count)
                    if count > 0 {
                        send(RunnerFrame(kind, Array(buffer[0..<count])))
                    } else if count == 0 || errno != EINTR {
                        close(entry.fd)
                        outputs[entry.fd] = nil
                    }
                } else if entry.fd == listener {
                    let fd = accept(listener, nil, nil)
                    guard fd >= 0 else { continue }
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    let id = nextConnection
                    nextConnection += 1
                    connections[id] = fd
                    send(RunnerFrame(.requestOpen, connection: id))
                } else if let id = connections.first(where: { $0.value == entry.fd })?.key {
                    let count = read(entry.fd, &buffer, buffer.count)
                    if count > 0 {
                        send(RunnerFrame(.requestData, connection: id, Array(buffer[0..<count])))
                    } else if count == 0 || errno != EINTR {
                        close(entry.fd)
                        connections[id] = nil
                        send(RunnerFrame(.requestClose, connection: id))
                    }
                }
            }
            if status != nil, drainUntil == nil { drainUntil = Self.now() + Self.grace }
            if let drainUntil, Self.now() >= drainUntil {
                for fd in outputs.keys { close(fd) }
                outputs = [:]
            }
        }
        for fd in connections.values { close(fd) }
        connections = [:]
    }

    private func handleFrames() {
        while true {
            let frame: RunnerFrame?
            do { frame = try decoder.next() } catch { return stop(now: true) }
            guard let frame else { return }
            switch frame.kind {
            case .relayData:
                if let (id, bytes) = frame.connection, let fd = connections[id] { _ = writeAll(fd, Array(bytes)) }
            case .relayClose:
                if let (id, _) = frame.connection, let fd = connections.removeValue(forKey: id) { close(fd) }
            case .signal:
                let name = String(decoding: frame.payload, as: UTF8.self)
                if name == "KILL" { signalGroup(SIGKILL) } else { stop(now: true) }
            default:
                break
            }
        }
    }

    /// TERM to the script's group now, KILL after the grace period.
    private func stop(now: Bool) {
        guard status == nil else { return }
        signalGroup(SIGTERM)
        terminateAt = nil
        if killAt == nil { killAt = Self.now() + Self.grace }
    }

    private func signalGroup(_ signal: Int32) {
        if child > 0 { kill(-child, signal) }
    }

    private func nextTimer() -> Int32 {
        let next = [terminateAt, killAt, drainUntil, status == nil ? silentUntil : nil].compactMap { $0 }.min()
        guard let next else { return -1 }
        return Int32(max(0, min(Double(Int32.max), (next - Self.now()) * 1000 + 1)))
    }

    private func checkTimers() {
        let now = Self.now()
        if let terminateAt, now >= terminateAt { stop(now: true) }
        if let silentUntil, now >= silentUntil, status == nil {
            // Nothing from the server for too long: it is gone, and nobody reads the output.
            self.silentUntil = nil
            stop(now: true)
        }
        if let killAt, now >= killAt, status == nil {
            signalGroup(SIGKILL)
            self.killAt = nil
        }
    }

    /// Records how the script ended, and kills what it left in its group.
    private func reap() {
        var raw: Int32 = 0
        guard child > 0, waitpid(child, &raw, WNOHANG) == child else { return }
        let signal = raw & 0x7F
        status = signal == 0 ? ((raw >> 8) & 0xFF, nil) : (128 + signal, Self.signalName(signal))
        kill(-child, SIGKILL)
        if exitWatch >= 0 {
            close(exitWatch)
            exitWatch = -1
        }
        if listener >= 0 {
            close(listener)
            listener = -1
        }
    }

    // MARK: Plumbing

    private func send(_ frame: RunnerFrame) {
        _ = writeAll(1, frame.encoded)
    }

    private func removeWorkDirectory() {
        guard let workDirectory else { return }
        FileSystem.removeTree(workDirectory)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func signalName(_ signal: Int32) -> String {
        [SIGTERM: "TERM", SIGKILL: "KILL", SIGINT: "INT", SIGHUP: "HUP", SIGSEGV: "SEGV", SIGABRT: "ABRT", SIGPIPE: "PIPE", SIGQUIT: "QUIT"][signal]
            ?? "SIG\(signal)"
    }

    /// The first executable `name` on `path` (or `name` itself when it has a slash).
    static func find(_ name: String, in path: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// A unix socket listening at `path`, for the script's owner only.
    static func listen(on path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RunnerError("cannot make the helpers' socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw RunnerError("the helpers' socket path \(path) is too long for a unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RunnerError("cannot listen on \(path): \(reason)")
        }
        return fd
    }
}

struct RunnerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes every byte, however many calls it takes; false when the descriptor is gone.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += written
    }
    return true
}
