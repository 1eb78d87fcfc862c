import CroniumCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import CroniumEngine
@testable import CroniumServer

/// Browser sessions as the web UI uses them: the cookie, the CSRF token on every write, the
/// lifetimes, signing out, and a password change.
@Suite struct BrowserSessionTests {
    @Test func aWriteWithTheCookieNeedsTheSessionsCSRFToken() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            _ = try await makeUser(client, admin: fixture.adminToken, name: "cara", role: .user)
            let session = try await signIn(client, "cara", "password-cara")
            let event = #"{"name": "csrf", "type": "BASH", "content": "true"}"#
            // The cookie alone: refused, and nothing is made.
            for csrf in [nil, "", String(session.csrfToken.reversed())] {
                var headers: HTTPFields = [.cookie: session.cookie]
                if let csrf { headers[HTTPField.Name("X-CSRF-Token")!] = csrf }
                try await client.execute(uri: "/api/v1/events", method: .post, headers: headers, body: ByteBuffer(string: event)) { response in
                    #expect(response.status == .forbidden)
                    let problem = try decode(ProblemBody.self, response)
                    #expect(problem.code == "CSRF_REFUSED")
                }
            }
            #expect(try await send(client, fixture.adminToken, .get, "/api/v1/events").body == "[]")
            // Reads need no token; writes with it work.
            try await client.execute(uri: "/api/v1/events", method: .get, headers: [.cookie: session.cookie]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/events", method: .post, headers: session.headers, body: ByteBuffer(string: event)) {
                #expect($0.status == .created)
            }
            // A page of another origin is refused even with the token; the server's own origin is not.
            var foreign = session.headers
            foreign[.origin] = "http://evil.example"
            try await client.execute(uri: "/api/v1/tokens", method: .post, headers: foreign, body: ByteBuffer(string: #"{"name":"x"}"#)) {
                #expect($0.status == .forbidden)
            }
            // The session tells the page its token; an API token's caller needs none.
            struct SignedIn: Decodable {
                let user: User?
                let csrfToken: String?
            }
            try await client.execute(uri: "/api/v1/auth/session", method: .get, headers: [.cookie: session.cookie]) { response in
                let answer = try decode(SignedIn.self, response)
                #expect(answer.user?.username == "cara" && answer.csrfToken == session.csrfToken)
            }
            try await client.execute(uri: "/api/v1/auth/session", method: .get, headers: auth(fixture.adminToken)) { response in
                let answer = try decode(SignedIn.self, response)
                #expect(answer.user?.username == "admin" && answer.csrfToken == nil)
            }
            try await client.execute(uri: "/api/v1/auth/session", method: .get) { response in
                #expect(response.status == .ok)
                let answer = try decode(SignedIn.self, response)
                #expect(answer.user == nil)
            }
        }
    }

    @Test func signingOutEndsTheSessionOnTheServer() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            _ = try await makeUser(client, admin: fixture.adminToken, name: "dan", role: .viewer)
            let session = try await signIn(client, "dan", "password-dan")
            try await client.execute(uri: "/api/v1/auth/logout", method: .post, headers: session.headers) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            // The old cookie, kept by someone, opens nothing.
            try await client.execute(uri: "/api/v1/me", method: .get, headers: [.cookie: session.cookie]) { #expect($0.status == .unauthorized) }
        }
    }

    @Test func aPasswordChangeEndsTheOtherSessions() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            _ = try await makeUser(client, admin: fixture.adminToken, name: "eve", role: .user)
            let laptop = try await signIn(client, "eve", "password-eve")
            let phone = try await signIn(client, "eve", "password-eve")
            let change = { (current: String, new: String) in #"{"currentPassword": "\#(current)", "newPassword": "\#(new)"}"# }
            try await client.execute(
                uri: "/api/v1/me/password",
                method: .post,
                headers: laptop.headers,
                body: ByteBuffer(string: change("wrong", "long enough"))
            ) { response in
                #expect(response.status == .unprocessableContent)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.errors?.first?.field == "currentPassword")
            }
            try await client.execute(
                uri: "/api/v1/me/password",
                method: .post,
                headers: laptop.headers,
                body: ByteBuffer(string: change("password-eve", "short"))
            ) { response in
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.errors?.first?.field == "newPassword")
            }
            try await client.execute(
                uri: "/api/v1/me/password",
                method: .post,
                headers: laptop.headers,
                body: ByteBuffer(string: change("password-eve", "a new secret"))
            ) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: [.cookie: laptop.cookie]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: [.cookie: phone.cookie]) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/api/v1/auth/login",
                method: .post,
                body: ByteBuffer(string: #"{"username": "eve", "password": "password-eve"}"#)
            ) {
                #expect($0.status == .unauthorized)
            }
            _ = try await signIn(client, "eve", "a new secret")
        }
    }
}
