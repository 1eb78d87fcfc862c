import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Remote servers through the API against real sshd processes: host keys pinned only when
/// vouched for, a changed key refused and recorded, credentials sealed and never returned,
/// `check`, and the circuit breaker.
@Suite struct RemoteServerTests {
    static func body(_ fields: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func aServerIsAddedOnlyWithItsHostKeyPinnedAndItsCredentialsNeverComeBack() async throws {
        let host = try await SSHHost.start()
        defer { host.stop() }
        let fingerprint = try #require(HostKeys.fingerprint(of: host.hostKey))
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let scan = try await send(client, admin, .post, "/api/v1/servers/scan", Self.body(["host": host.host, "port": host.port]))
            #expect(scan.status == 200 && scan.body.contains(fingerprint), "\(scan)")
            let base: [String: Any] = [
                "name": "web-1", "host": host.host, "port": host.port, "username": SSHHost.user, "privateKey": host.clientKey, "tags": ["web"],
            ]

            // Refused, and nothing stored: no pin, a wrong pin, both credentials, a misspelled field, a bad key.
            var bodies: [(fields: [String: Any], status: Int, words: String)] = [
                (base, 422, "acceptHostKey: the host key must be pinned"),
                (
                    base.merging(["acceptHostKey": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) { $1 }, 409,
                    "offers the ssh-ed25519 key \(fingerprint), not SHA256:AAAA"
                ),
                (base.merging(["acceptHostKey": fingerprint, "password": "x"]) { $1 }, 422, "not both"),
                (base.merging(["acceptHostKey": fingerprint, "hots": "x"]) { $1 }, 400, "unknown field 'hots'"),
                (
                    base.merging(["acceptHostKey": fingerprint, "privateKey": "-----BEGIN RSA PRIVATE KEY-----\nabc"]) { $1 }, 422,
                    "RSA keys are not supported"
                ),
                (base.merging(["acceptHostKey": fingerprint, "name": "no spaces"]) { $1 }, 422, "is not a server name"),
                (base.merging(["acceptHostKey": fingerprint, "port": 70000]) { $1 }, 422, "must be 1 to 65535"),
            ]
            for (fields, status, words) in bodies {
                let answer = try await send(client, admin, .post, "/api/v1/servers", Self.body(fields))
                #expect(answer.status == status && answer.body.contains(words), "\(answer)")
            }
            #expect(try await send(client, admin, .get, "/api/v1/servers").body == "[]")

            // Pinned by the fingerprint the owner compared.
            let added = try await send(client, admin, .post, "/api/v1/servers", Self.body(base.merging(["acceptHostKey": fingerprint]) { $1 }))
            #expect(added.status == 201, "\(added)")
            let server = try JSONDecoder.cronium.decode(RemoteServer.self, from: Data(added.body.utf8))
            #expect(server.hostKeys.map(\.fingerprint) == [fingerprint] && server.auth == .privateKey && server.tags == ["web"])
            #expect(
                server.publicKey?.hasPrefix(
                    try String(contentsOfFile: host.directory.appending("client_key.pub"), encoding: .utf8).split(separator: " ").prefix(2).joined(
                        separator: " "
                    )
                ) == true
            )
            #expect(!added.body.contains("PRIVATE KEY"))
            bodies = [(base.merging(["acceptHostKey": fingerprint]) { $1 }, 409, "already have a server named web-1")]
            for (fields, status, words) in bodies {
                let answer = try await send(client, admin, .post, "/api/v1/servers", Self.body(fields))
                #expect(answer.status == status && answer.body.contains(words), "\(answer)")
            }
            // Sealed at rest: the key's text is nowhere in the database file.
            let database = try Data(contentsOf: URL(fileURLWithPath: fixture.directory.appending("data/cronium.sqlite")))
            let keyBody = host.clientKey.split(separator: "\n")[1]
            #expect(database.range(of: Data(keyBody.utf8)) == nil)

            let check = try await send(client, admin, .post, "/api/v1/servers/web-1/check")
            let result = try JSONDecoder.cronium.decode(RemoteServerCheck.self, from: Data(check.body.utf8))
            #expect(result.reachable && result.authenticated && result.error == nil && (result.roundTripMilliseconds ?? -1) >= 0, "\(check)")
            let shown = try await send(client, admin, .get, "/api/v1/servers/web-1")
            #expect(shown.body.contains(#""connected":true"#) && !shown.body.contains("PRIVATE KEY"), "\(shown)")

            // Another user sees nothing of it.
            let other = try await makeUser(client, admin: admin, name: "bo", role: .user)
            #expect(try await send(client, other, .get, "/api/v1/servers/web-1").status == 404)
            #expect(try await send(client, other, .post, "/api/v1/servers/web-1/check").status == 404)
            #expect(try await send(client, other, .get, "/api/v1/servers").body == "[]")

            // Removed: gone, and a second removal is a 404.
            #expect(try await send(client, admin, .delete, "/api/v1/servers/web-1").status == 204)
            #expect(try await send(client, admin, .delete, "/api/v1/servers/web-1").status == 404)
        }
    }

    @Test func aChangedHostKeyIsRefusedAndRecordedUntilPinnedAgain() async throws {
        let first = try await SSHHost.start()
        defer { first.stop() }
        let second = try await SSHHost.start(hostKeyType: "ecdsa")
        defer { second.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let knownHosts = "[\(first.host)]:\(first.port) \(first.hostKey)\n"
            let added = try await send(
                client,
                admin,
                .post,
                "/api/v1/servers",
                Self.body([
                    "name": "db", "host": first.host, "port": first.port, "username": SSHHost.user, "password": SSHHost.password,
                    "knownHosts": knownHosts,
                ])
            )
            #expect(added.status == 201, "\(added)")
            #expect(try await send(client, admin, .post, "/api/v1/servers/db/check").body.contains(#""authenticated":true"#))
            let missing = try await send(
                client,
                admin,
                .post,
                "/api/v1/servers",
                Self.body([
                    "name": "db2", "host": second.host, "port": second.port, "username": SSHHost.user, "password": "x", "knownHosts": knownHosts,
                ])
            )
            #expect(missing.status == 422 && missing.body.contains("lists no key for [127.0.0.1]:\(second.port)"), "\(missing)")

            // The address now leads to a host with another key: refused, naming both, and recorded.
            #expect(try await send(client, admin, .patch, "/api/v1/servers/db", Self.body(["port": second.port])).status == 200)
            let refused = try await send(client, admin, .post, "/api/v1/servers/db/check")
            let secondPrint = try #require(HostKeys.fingerprint(of: second.hostKey))
            let firstPrint = try #require(HostKeys.fingerprint(of: first.hostKey))
            #expect(refused.body.contains("has changed") && refused.body.contains(secondPrint) && refused.body.contains(firstPrint), "\(refused)")
            let marked = try JSONDecoder.cronium.decode(
                RemoteServer.self,
                from: Data(try await send(client, admin, .get, "/api/v1/servers/db").body.utf8)
            )
            #expect(marked.hostKeyMismatch?.offered.fingerprint == secondPrint)

            // Pinned again on purpose: the record is cleared and logins work.
            let repinned = try await send(client, admin, .patch, "/api/v1/servers/db", Self.body(["acceptHostKey": secondPrint]))
            #expect(repinned.status == 200 && !repinned.body.contains("hostKeyMismatch"), "\(repinned)")
            #expect(try await send(client, admin, .post, "/api/v1/servers/db/check").body.contains(#""authenticated":true"#))
        }
    }

    @Test func theCircuitBreakerOpensAfterFailuresAndClosesAfterATrial() async throws {
        let host = try await SSHHost.start()
        defer { host.stop() }
        let fixture = try await ServerFixture {
            $0.engine.ssh.threshold = 2
            // Long enough that a loaded machine still asks while it is open.
            $0.engine.ssh.openFor = .seconds(10)
            $0.engine.ssh.attempts = 1
        }
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let knownHosts = "[\(host.host)]:\(host.port) \(host.hostKey)\n"
            let added = try await send(
                client,
                admin,
                .post,
                "/api/v1/servers",
                Self.body([
                    "name": "flaky", "host": host.host, "port": host.port, "username": SSHHost.user, "privateKey": host.clientKey,
                    "knownHosts": knownHosts,
                ])
            )
            #expect(added.status == 201, "\(added)")
            #expect(try await send(client, admin, .post, "/api/v1/servers/flaky/check").body.contains(#""authenticated":true"#))
            // The host goes down: its pooled connection breaks, and connects are refused.
            host.pause()
            #expect(try await eventually { try await send(client, admin, .get, "/api/v1/servers/flaky").body.contains(#""connected":false"#) })
            for _ in 0..<2 {
                let check = try await send(client, admin, .post, "/api/v1/servers/flaky/check")
                #expect(check.body.contains("connection refused") && check.body.contains(#""reachable":false"#), "\(check)")
            }
            // Open: refused at once, without trying, saying why and until when.
            let open = try await send(client, admin, .post, "/api/v1/servers/flaky/check")
            #expect(open.body.contains("failed 2 times in a row") && open.body.contains("connection refused"), "\(open)")
            let shown = try await send(client, admin, .get, "/api/v1/servers/flaky")
            #expect(shown.body.contains(#""breaker":"OPEN""#), "\(shown)")
            // After the open time, one trial decides: the host is back, so the breaker closes.
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    try await send(client, admin, .get, "/api/v1/servers/flaky").body.contains(#""breaker":"HALF_OPEN""#)
                }
            )
            try await host.resume()
            let trial = try await send(client, admin, .post, "/api/v1/servers/flaky/check")
            #expect(trial.body.contains(#""authenticated":true"#), "\(trial)")
            #expect(try await send(client, admin, .get, "/api/v1/servers/flaky").body.contains(#""breaker":"CLOSED""#))
        }
    }
}
