import AsyncHTTPClient
import CroniumCore
import Foundation
import NIOCore
import NIOHTTP1

/// Runs `HTTP_REQUEST` events: the response status and the first `maxBodyBytes` of the body become
/// the result; a status of 400 or more is a failure.
public struct HTTPRequestExecutor: Executor {
    let client: HTTPClient
    public let maxBodyBytes: Int

    public init(client: HTTPClient = .shared, maxBodyBytes: Int = 64 * 1024) {
        self.client = client
        self.maxBodyBytes = maxBodyBytes
    }

    public func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        guard let spec = context.event.httpRequest else { throw ExecutionError(.startFailed, "the event has no HTTP request") }
        return Request(client: client, spec: spec, maxBodyBytes: maxBodyBytes)
    }

    /// One request, sent when the run starts; the first stop request (the deadline, a cancel)
    /// cancels it.
    struct Request: PreparedRun {
        let client: HTTPClient
        let spec: HTTPRequestSpec
        let maxBodyBytes: Int

        func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
            await stops.cancelling { await send(output: output) }
        }

        private func send(output: RunOutput) async -> ExecutionOutcome {
            var http = HTTPClientRequest(url: spec.url)
            http.method = HTTPMethod(rawValue: spec.method)
            for (name, value) in spec.headers { http.headers.add(name: name, value: value) }
            if let body = spec.body { http.body = .bytes(ByteBuffer(string: body)) }
            await output(.system, "\(spec.method) \(spec.url)")
            do {
                // No deadline of its own: the engine stops the request at the event's.
                let response = try await client.execute(http, deadline: .distantFuture)
                var body = ByteBuffer()
                var truncated = false
                for try await var chunk in response.body {
                    let room = maxBodyBytes - body.readableBytes
                    if chunk.readableBytes > room {
                        truncated = true
                        if room > 0, let slice = chunk.readSlice(length: room) { body.writeImmutableBuffer(slice) }
                        break
                    }
                    body.writeBuffer(&chunk)
                }
                let text = String(buffer: body) + (truncated ? "\n[cronium] body truncated at \(maxBodyBytes) bytes" : "")
                let status = "HTTP \(response.status.code) \(response.status.reasonPhrase)"
                await output(.system, status)
                await output(.stdout, lines: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
                var outcome = ExecutionOutcome.success
                if response.status.code >= 400 { outcome = .failure(.httpStatus, status) }
                outcome.exitCode = Int(response.status.code)
                outcome.output = text
                return outcome
            } catch {
                return .failure(.requestFailed, "request failed: \(error)")
            }
        }

        func teardown() async {}
    }
}
