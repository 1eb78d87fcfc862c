import CroniumWeb
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import CroniumServer

/// The web UI's delivery: its files in the binary, each page's URL, the headers that guard the
/// pages and let browsers keep the files.
@Suite struct WebUITests {
    static let webDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Web").standardized

    /// A file added to `Web/` but not to `WebFiles.all` (and Package.swift) would be missing from
    /// the binary and show only as a broken page.
    @Test func everyFileOfTheWebFolderIsInTheBinary() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.webDirectory.path).filter { !$0.hasSuffix(".swift") }
        #expect(Set(WebFiles.all.map(\.name)) == Set(onDisk))
        for (name, contents) in WebFiles.all {
            #expect(contents == Array(try Data(contentsOf: Self.webDirectory.appending(path: name))), "\(name) differs from Web/\(name)")
        }
        let manifest = try String(contentsOf: Self.webDirectory.appending(path: "../Package.swift"), encoding: .utf8)
        for name in onDisk { #expect(manifest.contains(".embedInCode(\"\(name)\")"), "Package.swift does not embed \(name)") }
    }

    /// Every module the pages import exists, so no page fails to load for a misspelt file name.
    @Test func everyImportedModuleIsServed() throws {
        let names = Set(WebFiles.all.map(\.name))
        let pattern = try Regex(#"(?:from|import\()\s*'\./([^']+)'"#)
        for (name, contents) in WebFiles.all where name.hasSuffix(".js") {
            for match in String(decoding: contents, as: UTF8.self).matches(of: pattern) {
                let imported = String(match.output[1].substring ?? "")
                #expect(names.contains(imported), "\(name) imports ./\(imported), which is not a file of the web UI")
            }
        }
    }

    @Test func pagesAndFilesAreServedWithTheirHeaders() async throws {
        let fixture = try await ServerFixture()
        let web = fixture.server.web
        try await fixture.test { client in
            // Any page's URL answers the same index, without credentials, guarded by the CSP.
            var index = ""
            for path in ["/", "/events", "/events/12", "/executions/3", "/sign-in", "/account"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                    #expect(response.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
                    #expect(response.headers[.cacheControl] == "no-cache")
                    #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                    index = String(buffer: response.body)
                }
            }
            // The index names its files under the version path, which is a hash of the files.
            #expect(index.contains("/assets/\(web.version)/app.js") && !index.contains("{{assets}}"))
            #expect(!index.contains("<script>") && !index.contains("style="), "the CSP refuses inline scripts and styles")
            try await client.execute(uri: "/assets/\(web.version)/app.js", method: .get, headers: [.acceptEncoding: "gzip, br"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(response.headers[.contentEncoding] == "gzip")
                #expect(response.body.readableBytes < web.assets["app.js"]!.bytes.readableBytes)
            }
            try await client.execute(uri: "/assets/\(web.version)/app.js", method: .get) { response in
                #expect(response.headers[.contentEncoding] == nil)
                #expect(response.body == web.assets["app.js"]!.bytes)
            }
            // Another build's files, or none: a problem that says what to do.
            for path in ["/assets/0123456789ab/app.js", "/assets/\(web.version)/missing.js"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(String(buffer: response.body).contains("reload the page"))
                }
            }
            // The pages are public; what they show is not.
            try await client.execute(uri: "/api/v1/events", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/not-a-page", method: .get) { #expect($0.status == .unauthorized) }
        }
    }

    /// A mistyped address in a browser gets the UI's page (which says "not found" in its own
    /// words), with the refusal's status; programs still get problems in JSON.
    @Test func aBrowserOpeningAnUnknownAddressGetsThePage() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let html: HTTPFields = [.accept: "text/html,application/xhtml+xml"]
            try await client.execute(uri: "/no-such-page", method: .get, headers: html) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.contentSecurityPolicy] != nil)
            }
            var signedIn = auth(fixture.adminToken)
            signedIn[.accept] = "text/html"
            try await client.execute(uri: "/no-such-page", method: .get, headers: signedIn) { response in
                #expect(response.status == .notFound && response.headers[.contentType] == "text/html; charset=utf-8")
            }
            for (uri, headers) in [("/api/v1/nothing", signedIn), ("/no-such-page", auth(fixture.adminToken))] {
                try await client.execute(uri: uri, method: .get, headers: headers) { response in
                    #expect(response.status == .notFound && response.headers[.contentType] == "application/problem+json", "\(uri)")
                }
            }
            // A path's id that is not one is said plainly, without a Swift type's name.
            let wrong = try await send(client, fixture.adminToken, .get, "/api/v1/executions/abc")
            #expect(wrong.status == 400 && wrong.body.contains("'abc' is not an id: ids are whole numbers"), "\(wrong)")
        }
    }

    @Test func theVersionChangesWithAnyFile() {
        let one = WebUI(files: [("index.html", Array("a {{assets}}".utf8)), ("app.js", Array("1".utf8))])
        let same = WebUI(files: [("app.js", Array("1".utf8)), ("index.html", Array("a {{assets}}".utf8))])
        let other = WebUI(files: [("index.html", Array("a {{assets}}".utf8)), ("app.js", Array("2".utf8))])
        #expect(one.version == same.version)
        #expect(one.version != other.version)
        #expect(String(buffer: one.index.bytes) == "a /assets/\(one.version)")
    }
}
