import CroniumCore
import CroniumRunnerKit
import CroniumWeb
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The web UI: the files of `Web/`, compiled into the binary, served under one version path.
///
/// Each page's URL (`/events/12`) answers the same `index.html`, whose script draws the page:
/// a link to any page can be shared and reloaded. The scripts and styles are served under
/// `/assets/<version>/`, where the version is a hash of every file, so a browser keeps them for a
/// year and a new build's files get a new path; `index.html` itself is checked at every load.
/// Everything is compressed once, at start-up, for clients that take gzip.
struct WebUI: Sendable {
    struct Asset: Sendable {
        let contentType: String
        let bytes: ByteBuffer
        /// Nil when compressing would not pay (small files).
        let gzipped: ByteBuffer?
    }

    /// The first path segments that are pages of the UI (each with everything under it).
    static let pages = [
        "sign-in", "account", "events", "executions", "workflows", "servers", "images", "tools", "variables", "users",
    ]
    static let assetPrefix = "/assets/"

    /// What the browser may do on the UI's pages: its own scripts, styles, images and API, and
    /// nothing inline, nothing from elsewhere, no framing.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    let version: String
    let index: Asset
    let assets: [String: Asset]

    init(files: [(name: String, contents: [UInt8])] = WebFiles.all) {
        var hash = SHA256()
        for (name, contents) in files.sorted(by: { $0.name < $1.name }) {
            hash.update(data: Array(name.utf8))
            hash.update(data: contents)
        }
        version = hash.finalize().prefix(6).map { String(format: "%02x", $0) }.joined()
        var assets: [String: Asset] = [:]
        var index: Asset?
        for (name, contents) in files {
            if name == "index.html" {
                let text = String(decoding: contents, as: UTF8.self).replacingOccurrences(of: "{{assets}}", with: "\(Self.assetPrefix)\(version)")
                index = Self.asset(name, Array(text.utf8))
            } else {
                assets[name] = Self.asset(name, contents)
            }
        }
        self.index = index ?? Self.asset("index.html", Array("<!doctype html><title>Cronium</title>".utf8))
        self.assets = assets
    }

    /// Whether `path` is served without credentials: the pages and their files hold no data; the
    /// scripts ask the API for it, which checks the caller.
    static func isPublic(_ path: String) -> Bool {
        if path == "/" || path.hasPrefix(assetPrefix) { return true }
        let first = path.dropFirst().split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        return pages.contains(first)
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/") { request, _ in self.page(request) }
        for page in Self.pages {
            router.get(RouterPath(page)) { request, _ in self.page(request) }
            router.get(RouterPath("\(page)/**")) { request, _ in self.page(request) }
        }
        router.get("assets/:version/:name") { request, context -> Response in
            guard context.parameters.get("version") == version, let name = context.parameters.get("name"), let asset = assets[name] else {
                throw Problem(.notFound, "there is no such file of the web UI (was the server upgraded? reload the page)")
            }
            var response = Self.response(asset, request)
            response.headers[.cacheControl] = "public, max-age=31536000, immutable"
            return response
        }
    }

    /// `index.html`, with the headers that guard a page.
    func page(_ request: Request) -> Response {
        var response = Self.response(index, request)
        response.headers[.cacheControl] = "no-cache"
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return response
    }

    static func response(_ asset: Asset, _ request: Request) -> Response {
        var headers: HTTPFields = [.contentType: asset.contentType, .vary: "Accept-Encoding"]
        if let gzipped = asset.gzipped, request.headers[.acceptEncoding]?.contains("gzip") == true {
            headers[.contentEncoding] = "gzip"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: gzipped))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.bytes))
    }

    static func asset(_ name: String, _ contents: [UInt8]) -> Asset {
        let type: String =
            switch name.split(separator: ".").last {
            case "html": "text/html; charset=utf-8"
            case "css": "text/css; charset=utf-8"
            case "js": "text/javascript; charset=utf-8"
            case "svg": "image/svg+xml"
            case "json": "application/json"
            default: "application/octet-stream"
            }
        let gzipped = contents.count > 1024 ? try? Gzip.compress(contents) : nil
        return Asset(
            contentType: type,
            bytes: ByteBuffer(bytes: contents),
            gzipped: gzipped.flatMap { $0.count < contents.count ? ByteBuffer(bytes: $0) : nil }
        )
    }
}
