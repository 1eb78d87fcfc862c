import ArgumentParser
import CroniumCore
import CroniumServer
import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a run's log; --follow streams it until the run ends.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "Execution id.") var executionId: ExecutionID
    @Flag(name: [.short, .long], help: "Keep printing new lines until the run ends.") var follow = false

    struct Page: Decodable {
        let lines: [LogLine]
        let nextAfter: Int
        let complete: Bool
    }

    func run() async throws {
        if follow {
            _ = try await followLog(executionId: executionId, client: client, quiet: false)
            return
        }
        var after = 0
        while true {
            let page: Page = try await client.client.get("/api/v1/executions/\(executionId)/logs?after=\(after)&limit=5000")
            for line in page.lines { printLine(line, json: client.json) }
            if page.lines.isEmpty || page.lines.count < 5000 { return }
            after = page.nextAfter
        }
    }
}

func printLine(_ line: LogLine, json: Bool) {
    if json {
        print(String(decoding: (try? APIClient.encoder.encode(line)) ?? Data(), as: UTF8.self))
    } else if line.stream == .stderr || line.stream == .system {
        printError(line.text)
    } else {
        print(line.text)
        fflush(nil)
    }
}

/// Streams a run's log over the server's WebSocket until the final status arrives, and returns it.
func followLog(executionId: ExecutionID, client: ClientOptions, quiet: Bool) async throws -> ExecutionStatus {
    let api = try client.client
    var url = api.baseURL.replacingOccurrences(of: "http://", with: "ws://").replacingOccurrences(of: "https://", with: "wss://")
    url += "/api/v1/executions/\(executionId)/logs/stream"
    if let token = api.token { url += "?token=\(token)" }
    var logger = Logger(label: "cronium.cli")
    logger.logLevel = .error
    let final = LockedStatus()
    // Ctrl-C ends the following, not the run: say so, and how to cancel it.
    signal(SIGINT, SIG_IGN)
    let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    interrupt.setEventHandler {
        printError("\nstopped following; execution \(executionId) goes on. To cancel it: cronium execution cancel \(executionId)")
        exit(130)
    }
    interrupt.resume()
    defer {
        interrupt.cancel()
        signal(SIGINT, SIG_DFL)
    }
    do {
        try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: logger) { inbound, outbound, _ in
            // Tells the server the upgrade is complete here, so no frame can arrive along with it.
            try await outbound.write(.text("start"))
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                if let refusal = try? APIClient.decoder.decode(StreamRefusal.self, from: Data(text.utf8)),
                    refusal.type.hasPrefix("urn:cronium:problem:")
                {
                    final.refuse(CLIError(refusal.detail, code: Exit(refusal: refusal.status)))
                    continue
                }
                guard let decoded = try? APIClient.decoder.decode(LogStreamMessage.self, from: Data(text.utf8)) else { continue }
                if decoded.type == "finished" {
                    final.set(decoded.status ?? .failure)
                } else if !quiet, let line = decoded.logLine {
                    printLine(line, json: client.json)
                }
            }
        }
    } catch {
        throw CLIError(
            "cannot follow the log of execution \(executionId) at \(api.baseURL): \(APIClient.reason(error)). Is `cronium serve` running there?",
            code: .unreachable
        )
    }
    if let refusal = final.refusal { throw refusal }
    guard let status = final.value else { throw CLIError("the log stream of execution \(executionId) ended before the run did") }
    return status
}

/// The problem document a refused stream sends as its only message.
private struct StreamRefusal: Decodable {
    let type: String
    let detail: String
    let status: Int
}

/// The final status, or why the server refused the stream, set from inside the WebSocket handler.
final class LockedStatus: Sendable {
    private let status = Mutex<ExecutionStatus?>(nil)
    private let refused = Mutex<CLIError?>(nil)
    var value: ExecutionStatus? { status.withLock { $0 } }
    var refusal: CLIError? { refused.withLock { $0 } }
    func set(_ value: ExecutionStatus) { status.withLock { $0 = value } }
    func refuse(_ error: CLIError) { refused.withLock { $0 = error } }
}
