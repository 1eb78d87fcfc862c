import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CroniumServer

/// Email tools through the API against a real SMTP server (aiosmtpd with STARTTLS and a login):
/// a message from each way of sending (an action, a `TOOL_ACTION` event, scripts in three
/// languages) is read back as a mail client would show it; a wrong password is a clear error on
/// the run; the password is never shown, stored in clear or logged.
@Suite struct EmailTests {
    static let password = "smtp-\(UUID().uuidString)"

    /// The tool's fields for `receiver`, logging in as `mailer` with `password`.
    static func toolBody(_ name: String, _ receiver: SMTPReceiver, password: String = EmailTests.password) -> String {
        RemoteServerTests.body([
            "name": name, "type": "EMAIL", "host": "127.0.0.1", "port": receiver.port, "security": "STARTTLS", "username": "mailer",
            "password": password, "from": "Cronium <cronium@example.com>", "trustedCertificate": receiver.certificate,
        ])
    }

    @Test func emailToolsAreCheckedAndTheirPasswordNeverComesBack() async throws {
        let receiver = try await SMTPReceiver.start(security: .startTLS, username: "mailer", password: Self.password)
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let added = try await send(client, admin, .post, "/api/v1/tools", Self.toolBody("mail", receiver))
            #expect(added.status == 201 && !added.body.contains(Self.password), "\(added)")
            #expect(added.body.contains(#""authentication":"PLAIN""#) && added.body.contains(#""security":"STARTTLS""#), "\(added)")
            let database = try Data(contentsOf: URL(fileURLWithPath: fixture.directory.appending("data/cronium.sqlite")))
            #expect(database.range(of: Data(Self.password.utf8)) == nil)

            // The test message goes to the tool's own sender, or to whom it is told.
            let tested = try await send(client, admin, .post, "/api/v1/tools/mail/test")
            #expect(tested.status == 200 && tested.body.contains(#""status":250"#), "\(tested)")
            let toOps = try await send(client, admin, .post, "/api/v1/tools/mail/test", #"{"to": ["ops@example.com"]}"#)
            #expect(toOps.status == 200, "\(toOps)")
            let messages = try receiver.messages()
            #expect(messages.map(\.rcptTos) == [["cronium@example.com"], ["ops@example.com"]] && messages.first?.subject == "Cronium test message")
            #expect(
                messages.first?.text?.contains("through the tool mail by admin") == true && messages.allSatisfy { $0.tls && $0.authUser == "mailer" }
            )

            for (body, words) in [
                (#"{"name": "m", "type": "EMAIL", "from": "a@example.com"}"#, "host: is required: the SMTP server's host name"),
                (#"{"name": "m", "type": "EMAIL", "host": "smtp.example.com", "from": "nobody"}"#, "from: 'nobody' is not an address"),
                (
                    #"{"name": "m", "type": "EMAIL", "host": "smtp.example.com", "from": "a@example.com", "username": "u"}"#,
                    "password: logging in needs a password"
                ),
                (
                    #"{"name": "m", "type": "EMAIL", "host": "smtp.example.com", "security": "NONE", "from": "a@example.com", "username": "u", "password": "p"}"#,
                    "security: logging in with security NONE would send the password to smtp.example.com in clear text"
                ),
                (
                    #"{"name": "m", "type": "EMAIL", "host": "smtp.example.com", "from": "a@example.com", "trustedCertificate": "nope"}"#,
                    "trustedCertificate: is not a PEM certificate"
                ),
                (
                    #"{"name": "m", "type": "SLACK", "url": "https://hooks.example.com/x", "host": "smtp.example.com"}"#,
                    "host: applies to EMAIL tools only"
                ),
                (
                    #"{"name": "m", "type": "EMAIL", "host": "smtp.example.com", "from": "a@example.com", "securty": "TLS"}"#,
                    "unknown field 'securty'"
                ),
            ] {
                let refused = try await send(client, admin, .post, "/api/v1/tools", body)
                #expect([400, 422].contains(refused.status) && refused.body.contains(words), "\(body): \(refused)")
            }
            let badRecipient = try await send(client, admin, .post, "/api/v1/tools/mail/test", #"{"to": ["not an address"]}"#)
            #expect(badRecipient.status == 422 && badRecipient.body.contains("'not an address' is not an address"), "\(badRecipient)")

            // A security change moves the port along unless it was chosen; "" stops logging in.
            let moved = try await send(client, admin, .patch, "/api/v1/tools/mail", #"{"security": "TLS", "username": ""}"#)
            #expect(moved.status == 200 && moved.body.contains(#""port":\#(receiver.port)"#) && !moved.body.contains("mailer"), "\(moved)")
            #expect(
                try await send(
                    client,
                    admin,
                    .post,
                    "/api/v1/tools",
                    #"{"name": "relay", "type": "EMAIL", "host": "smtp.example.com", "from": "a@example.com"}"#
                ).body.contains(#""port":587"#)
            )
            let tls = try await send(client, admin, .patch, "/api/v1/tools/relay", #"{"security": "TLS"}"#)
            #expect(tls.body.contains(#""port":465"#), "\(tls)")
        }
    }

    /// One message from each way of sending, read back rendered; a wrong password fails the run
    /// and its action with the server's words, and shows up nowhere.
    @Test func everyWayOfSendingDeliversAndAWrongPasswordIsClear() async throws {
        let receiver = try await SMTPReceiver.start(security: .startTLS, username: "mailer", password: Self.password)
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let runs = RunsClient(client: client, token: admin)
            #expect(try await send(client, admin, .post, "/api/v1/tools", Self.toolBody("mail", receiver)).status == 201)
            #expect(
                try await send(client, admin, .post, "/api/v1/tools", Self.toolBody("wrong", receiver, password: "not-the-password")).status == 201
            )
            #expect(
                try await send(client, admin, .post, "/api/v1/tools", #"{"name": "team", "type": "SLACK", "url": "http://127.0.0.1:1/x"}"#).status
                    == 201
            )

            // Saving checks the recipients against the tool.
            for (action, words) in [
                (
                    #"{"when": "ALWAYS", "type": "SEND_MESSAGE", "tool": "mail", "message": "x"}"#,
                    "actions[0].to: an email through mail needs its recipients"
                ),
                (
                    #"{"when": "ALWAYS", "type": "SEND_MESSAGE", "tool": "mail", "message": "x", "to": ["nobody"]}"#,
                    "actions[0].to: 'nobody' is not an address"
                ),
                (
                    #"{"when": "ALWAYS", "type": "SEND_MESSAGE", "tool": "team", "message": "x", "to": ["a@example.com"]}"#,
                    "actions[0].to: applies to EMAIL tools only"
                ),
                (
                    #"{"when": "ALWAYS", "type": "SEND_MESSAGE", "tool": "mail", "message": "x", "to": ["Eve\r\nBcc: x@example.com <a@example.com>"]}"#,
                    "actions[0].to: 'Eve"
                ),
            ] {
                let refused = try await send(
                    client,
                    admin,
                    .post,
                    "/api/v1/events",
                    #"{"name": "bad", "type": "BASH", "content": "true", "actions": [\#(action)]}"#
                )
                #expect(refused.status == 422 && refused.body.contains(words), "\(refused)")
            }

            // 1. An action after a run.
            let backup = try await runs.create("backup", .bash, "echo 'copied 3 <files>'") {
                $0.actions = [
                    EventAction(
                        when: .always,
                        type: .sendMessage,
                        tool: "mail",
                        to: ["ops@example.com", "Dev Team <dev@example.com>"],
                        subject: "{{event.name}}: {{execution.status}}",
                        message: "Log:\n{{execution.log}}",
                        html: "<pre>{{execution.log}}</pre>"
                    ),
                    EventAction(when: .always, type: .sendMessage, tool: "wrong", to: ["ops@example.com"], message: "never arrives"),
                ]
            }
            let run = try await runs.run(backup)
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    try await runs.execution(run.id).deliveries?.allSatisfy { $0.status != .pending } == true
                }
            )
            let shown = try await runs.execution(run.id)
            let deliveries = try #require(shown.deliveries)
            #expect(
                deliveries.map(\.status) == [.delivered, .failed] && deliveries.first?.to == ["ops@example.com", "Dev Team <dev@example.com>"],
                "\(deliveries)"
            )
            #expect(deliveries.first?.answerStatus == 250 && deliveries.last?.answerStatus == 535, "\(deliveries)")
            let refusal =
                "the SMTP server refused the username or password: 535 5.7.8 Authentication credentials invalid (check the tool's username and password)"
            #expect(deliveries.last?.error == refusal && deliveries.last?.attempts == 1, "\(deliveries)")
            #expect(shown.actions?.map(\.status) == [.fired, .failed] && shown.actions?.last?.error == refusal)

            // 2. A TOOL_ACTION event, with input in its templates.
            let announce = try await send(
                client,
                admin,
                .post,
                "/api/v1/events",
                RemoteServerTests.body([
                    "name": "announce", "type": "TOOL_ACTION",
                    "toolAction": [
                        "tool": "mail", "to": ["releases@example.com"], "subject": "Release {{input.version}}", "message": "{{input.version}} is out",
                    ],
                ])
            )
            #expect(announce.status == 201, "\(announce)")
            let released = try await runs.run(
                try JSONDecoder.cronium.decode(Event.self, from: Data(announce.body.utf8)),
                body: #"{"input": {"version": "2.4.0"}}"#
            )
            #expect(released.status == .success && released.exitCode == 250, "\(released)")
            let wrong = try await send(
                client,
                admin,
                .post,
                "/api/v1/events",
                RemoteServerTests.body([
                    "name": "wrong", "type": "TOOL_ACTION", "toolAction": ["tool": "wrong", "to": ["ops@example.com"], "message": "x"],
                ])
            )
            let failed = try await runs.run(try JSONDecoder.cronium.decode(Event.self, from: Data(wrong.body.utf8)))
            #expect(
                failed.status == .failure && failed.errorCode == .messageRefused && failed.exitCode == 535 && failed.error == refusal,
                "\(failed)"
            )

            // 3. Scripts, in each language.
            let scripts: [(String, EventType, String)] = [
                (
                    "py", .python,
                    #"import cronium; cronium.send_email("py@example.com", "From Python", "python body", html="<b>py</b>", tool="mail")"#
                ),
                (
                    "js", .nodejs,
                    #"require('cronium').sendEmail(['js@example.com', 'JS <JS@example.com>'], 'From Node', 'node body', { tool: 'mail' }).then(() => console.log('sent'))"#
                ),
                ("sh", .bash, #"cronium_send_email "sh@example.com, other@example.com" "From Bash" "bash \"body\"" mail >/dev/null && echo sent"#),
            ]
            for (name, type, script) in scripts {
                let sent = try await runs.run(try await runs.create(name, type, script))
                let log = try await runs.log(sent.id)
                #expect(sent.status == .success, "\(name): \(sent) \(log)")
            }
            let refusedScript = try await runs.run(
                try await runs.create("py-wrong", .python, #"import cronium; cronium.send_email("a@example.com", "s", "b", tool="wrong")"#)
            )
            #expect(try await runs.log(refusedScript.id).joined().contains("535 5.7.8 Authentication credentials invalid"))

            let messages = try await receiver.waitForMessages(5)
            let bySubject = Dictionary(messages.map { ($0.subject, $0) }, uniquingKeysWith: { first, _ in first })
            let action = try #require(bySubject["backup: SUCCESS"], "\(messages.map(\.subject))")
            #expect(action.rcptTos == ["ops@example.com", "dev@example.com"] && action.to == "ops@example.com, Dev Team <dev@example.com>")
            #expect(
                action.text?.hasPrefix("Log:\ncopied 3 <files>") == true && action.html?.hasPrefix("<pre>copied 3 &lt;files&gt;</pre>") == true,
                "\(action)"
            )
            #expect(
                bySubject["Release 2.4.0"]?.text?.hasPrefix("2.4.0 is out") == true && bySubject["Release 2.4.0"]?.rcptTos == ["releases@example.com"]
            )
            #expect(
                bySubject["From Python"]?.html?.hasPrefix("<b>py</b>") == true && bySubject["From Python"]?.text?.hasPrefix("python body") == true
            )
            #expect(bySubject["From Node"]?.rcptTos == ["js@example.com"])
            #expect(
                bySubject["From Bash"]?.rcptTos == ["sh@example.com", "other@example.com"]
                    && bySubject["From Bash"]?.text?.hasPrefix(#"bash "body""#) == true
            )
            #expect(messages.count == 5 && messages.allSatisfy { $0.from == "Cronium <cronium@example.com>" && $0.tls })

            // The password is in no log, error or answer; pasted into a script by hand, it is masked.
            let pasted = try await runs.run(try await runs.create("pasted", .bash, "echo 'the password is \(Self.password)'"))
            #expect(try await runs.log(pasted.id) == ["the password is ***"])
            var seen: [String] = []
            for id in [run.id, released.id, failed.id, refusedScript.id] { seen.append(try await runs.log(id).joined(separator: "\n")) }
            for uri in ["/api/v1/executions/\(run.id)", "/api/v1/executions/\(failed.id)", "/api/v1/tools", "/api/v1/tools/wrong"] {
                seen.append(try await send(client, admin, .get, uri).body)
            }
            for text in seen { #expect(!text.contains(Self.password) && !text.contains("not-the-password"), "\(text)") }
        }
    }
}
