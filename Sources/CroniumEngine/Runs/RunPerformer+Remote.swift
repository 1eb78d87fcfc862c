import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import Logging

/// `REMOTE` runs: one part per server, all at once, each an execution of its own (its log, its
/// status, its runtime session and token) recorded by the node that runs the run. The run's log
/// shows every part's lines marked with the server's name, and its outcome sums the parts up.
extension RunPerformer {
    func runOnServers(_ context: ExecutionContext, of started: StartedRun, on executor: any Executor, stop: StopSignal, mask: LogMask) async
        -> ExecutionOutcome
    {
        let runId = context.executionId
        let servers: [StoredServer]
        do {
            servers = try await remote.servers(for: context.event)
        } catch {
            return .failure(.startFailed, (error as? CroniumError)?.message ?? "could not read the event's servers: \(error)")
        }
        guard !servers.isEmpty else {
            let tag = context.event.serverTag ?? ""
            return .failure(
                .startFailed,
                "no server has the tag \(tag): tag one with `cronium server update NAME --tag \(tag)`, or name servers on the event"
            )
        }
        let names = servers.map(\.server.name)
        let partIds: [ExecutionID]
        do {
            partIds = try await store.startParts(of: started.execution, servers: names, at: clock.now())
        } catch {
            logger.error("could not record a run's parts", metadata: ["execution.id": "\(runId)", "error": "\(String(reflecting: error))"])
            return .failure(.startFailed, "could not record the run's parts: \(error)")
        }
        logHub.append(
            executionId: runId,
            stream: .system,
            lines: ["running on \(names.count == 1 ? "server" : "\(names.count) servers"): \(names.joined(separator: ", "))"]
        )
        let stops = partIds.map(running.register)
        let outcomes = await withTaskGroup(of: PartArm.self) { group in
            // The run's stop (a cancel, the shutdown) stops every part; one part may be cancelled alone.
            group.addTask {
                await stop.wait()
                if let reason = stop.reason { for part in stops { part.stop(reason) } }
                return .forwarded
            }
            for index in servers.indices {
                group.addTask {
                    .ended(
                        index,
                        await self.runPart(partIds[index], on: servers[index], context, of: started, on: executor, stop: stops[index], mask: mask)
                    )
                }
            }
            var outcomes = [ExecutionOutcome?](repeating: nil, count: servers.count)
            while outcomes.contains(where: { $0 == nil }), let arm = await group.next() {
                if case .ended(let index, let outcome) = arm { outcomes[index] = outcome }
            }
            group.cancelAll()
            return outcomes.map { $0 ?? .success }
        }
        let parts = zip(names, zip(partIds, outcomes)).map { RemotePart(server: $0.0, id: $0.1.0, outcome: $0.1.1) }
        logHub.append(executionId: runId, stream: .system, lines: parts.map { "[\($0.server)] \($0.summary)" })
        var outcome = RemotePart.combined(parts)
        if let reason = stop.reason {
            outcome.status = .cancelled
            outcome.error = ExecutionError(.cancelled, reason)
        }
        return outcome
    }

    /// One server's part, from its start to its recorded end.
    private func runPart(
        _ partId: ExecutionID,
        on stored: StoredServer,
        _ context: ExecutionContext,
        of started: StartedRun,
        on executor: any Executor,
        stop: StopSignal,
        mask: LogMask
    ) async -> ExecutionOutcome {
        let (name, runId, hub) = (stored.server.name, context.executionId, logHub)
        hub.open(executionId: partId, capBytes: context.event.logCapBytes, now: clock.now())
        let output = RunOutput { stream, lines in
            let masked = mask.mask(lines)
            hub.append(executionId: partId, stream: stream, lines: masked)
            hub.append(executionId: runId, stream: stream, lines: masked.map { "[\(name)] \($0)" })
        }
        var part = context
        part.executionId = partId
        part.environment["CRONIUM_EXECUTION_ID"] = String(partId)
        part.environment["CRONIUM_SERVER_NAME"] = name
        part.remote = RemotePlacement(serverName: name) { [remote] in try await remote.connection(stored) }
        let outcome = await run(part, of: started, on: executor, stop: stop, mask: mask, output: output)
        let log = await hub.takeFinal(executionId: partId)
        do {
            try await RunQueue(queue: store).finish(
                RunEnd(
                    executionId: partId,
                    outcome: outcome,
                    finishedAt: clock.now(),
                    logBytes: log.bytes,
                    logDroppedBytes: log.droppedBytes,
                    logLines: log.lines
                )
            )
        } catch {
            logger.error("could not record a part's end", metadata: ["execution.id": "\(partId)", "error": "\(String(reflecting: error))"])
        }
        hub.written(executionId: partId)
        hub.close(executionId: partId, status: outcome.status)
        running.unregister(partId)
        return outcome
    }
}

private enum PartArm: Sendable {
    case ended(Int, ExecutionOutcome)
    case forwarded
}

/// How one server's part of a `REMOTE` run ended.
struct RemotePart {
    var server: String
    var id: ExecutionID
    var outcome: ExecutionOutcome

    /// `SUCCESS`, or the status and why (without the server's name twice).
    var summary: String {
        guard outcome.status != .success, let error = outcome.error else { return outcome.status.rawValue }
        let message = error.message.hasPrefix("server \(server): ") ? String(error.message.dropFirst("server \(server): ".count)) : error.message
        return "\(outcome.status.rawValue): \(message)"
    }

    /// The run's outcome: `SUCCESS` when every part succeeded, `PARTIAL` when some did, and when
    /// none did the parts' common status (all `TIMEOUT`: `TIMEOUT`), else `FAILURE`. Its output
    /// lists the servers; its output value holds each part's (`{"servers": [...]}`); its
    /// condition is true when any part set it true.
    static func combined(_ parts: [RemotePart]) -> ExecutionOutcome {
        let failed = parts.filter { $0.outcome.status != .success }
        var outcome = ExecutionOutcome.success
        if let first = failed.first {
            let statuses = Set(failed.map(\.outcome.status))
            let list = failed.map { "\($0.server) \($0.summary)" }.joined(separator: "; ")
            if failed.count < parts.count {
                outcome = .failure(
                    first.outcome.error?.code ?? .exitStatus,
                    "failed on \(failed.count) of \(parts.count) servers: \(list)",
                    status: .partial
                )
            } else {
                let message = parts.count == 1 ? "on \(list)" : "failed on every server: \(list)"
                outcome = .failure(first.outcome.error?.code ?? .exitStatus, message, status: statuses.count == 1 ? first.outcome.status : .failure)
            }
        }
        outcome.exitCode = parts.count == 1 ? parts[0].outcome.exitCode : failed.first?.outcome.exitCode ?? 0
        outcome.output = parts.map { "\($0.server): \($0.summary)" }.joined(separator: "\n")
        let servers = parts.map { part -> JSONValue in
            var entry: [String: JSONValue] = [
                "server": .string(part.server), "executionId": .integer(part.id.rawValue), "status": .string(part.outcome.status.rawValue),
            ]
            if let code = part.outcome.exitCode { entry["exitCode"] = .integer(Int64(code)) }
            if let error = part.outcome.error { entry["error"] = .string(error.message) }
            if let value = part.outcome.outputValue.flatMap(JSONValue.init(text:)) { entry["output"] = value }
            if let condition = part.outcome.condition { entry["condition"] = .bool(condition) }
            return .object(entry)
        }
        outcome.outputValue = JSONValue.object(["servers": .array(servers)]).text
        let conditions = parts.compactMap(\.outcome.condition)
        outcome.condition = conditions.isEmpty ? nil : conditions.contains(true)
        return outcome
    }
}
