import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import Prometheus

/// This server's Prometheus registry: the engine's counters and the API's, in the text format.
/// One registry per server and nothing bootstrapped globally, so that nothing else in the
/// process (a test's second server, a library) writes into it.
struct ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "cronium_run_duration_seconds": EngineMetrics.runDurationBuckets,
            "cronium_scheduler_lateness_seconds": EngineMetrics.latenessBuckets,
        ]
        self.factory = factory
    }

    /// `GET /metrics`: the queue depth and the store's size are read at each scrape.
    func response(engine: Engine) async throws -> Response {
        try await engine.updateQueueDepth()
        try await engine.updateStorageMetrics()
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
        )
    }
}

/// Counts every API request by route (the pattern, not the path, so ids do not multiply the
/// series), method and status, and records its duration.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let factory: PrometheusMetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: response.status, since: started)
            return response
        } catch {
            record(request, context, status: (error as? any HTTPResponseError)?.status ?? .internalServerError, since: started)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: HTTPResponse.Status, since started: ContinuousClock.Instant) {
        let route = context.endpointPath ?? "unknown"
        let method = request.method.rawValue
        Counter(
            label: "cronium_http_requests_total",
            dimensions: [("route", route), ("method", method), ("status", String(status.code))],
            factory: factory
        ).increment()
        let elapsed = ContinuousClock.now - started
        Timer(label: "cronium_http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
