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

    public func execute(_ request: ExecutionRequest, output: @escaping OutputHandler) async -> ExecutionOutcome {
        guard let spec = request.event.httpRequest else {
            return ExecutionOutcome(status: .failure, error: "the event has no HTTP request")
        }
        var http = HTTPClientRequest(url: spec.url)
        http.method = HTTPMethod(rawValue: spec.method)
        for (name, value) in spec.headers { http.headers.add(name: name, value: value) }
        if let body = spec.body { http.body = .bytes(ByteBuffer(string: body)) }
        await output(.system, "\(spec.method) \(spec.url)")
        do {
            let response = try await client.execute(http, timeout: .seconds(Int64(request.event.timeoutSeconds)))
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
            await output(.system, "HTTP \(response.status.code) \(response.status.reasonPhrase)")
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) { await output(.stdout, String(line)) }
            let failed = response.status.code >= 400
            return ExecutionOutcome(
                status: failed ? .failure : .success, exitCode: Int(response.status.code), output: text,
                error: failed ? "HTTP \(response.status.code) \(response.status.reasonPhrase)" : nil)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return ExecutionOutcome(status: .timeout, error: "no response within \(request.event.timeoutSeconds)s")
        } catch is CancellationError {
            return ExecutionOutcome(status: .cancelled, error: "cancelled")
        } catch {
            return ExecutionOutcome(status: Task.isCancelled ? .cancelled : .failure, error: "request failed: \(error)")
        }
    }
}
