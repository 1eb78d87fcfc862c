import Hummingbird
import Synchronization

/// The router's paths and their methods, so a path asked with a method it does not answer gets
/// `405` and `Allow` instead of `404`. Filled once the routes are added.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [Substring], method: String)]>([])

    func load(_ routes: [(path: String, method: String)]) {
        self.routes.withLock { $0 = routes.map { (Substring($0.path).split(separator: "/"), $0.method) } }
    }

    /// The methods of every route whose pattern matches `path` (a parameter, `:id` or `{id}`,
    /// matches any one segment).
    func methods(answering path: String) -> [String] {
        let asked = path.split(separator: "/")
        let methods = routes.withLock { routes in
            routes.filter { route in
                route.segments.count == asked.count && zip(route.segments, asked).allSatisfy { $0.hasPrefix(":") || $0.hasPrefix("{") || $0 == $1 }
            }.map(\.method)
        }
        return Array(Set(methods)).sorted()
    }
}
