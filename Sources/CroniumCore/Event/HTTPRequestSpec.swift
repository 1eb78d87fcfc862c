/// What an `HTTP_REQUEST` event sends. The response status and a capped body become the run's result.
public struct HTTPRequestSpec: Codable, Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [String: String]
    public var body: String?

    public init(method: String = "GET", url: String, headers: [String: String] = [:], body: String? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public static let allowedMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.method = try c.decodeIfPresent(String.self, forKey: .method)?.uppercased() ?? "GET"
        self.url = try c.decode(String.self, forKey: .url)
        self.headers = try c.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
        self.body = try c.decodeIfPresent(String.self, forKey: .body)
    }

    func problems(field: String) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        if !Self.allowedMethods.contains(method) {
            problems.append(.init(field: "\(field).method", message: "must be one of \(Self.allowedMethods.sorted().joined(separator: ", "))"))
        }
        if let scheme = url.split(separator: ":", maxSplits: 1).first.map({ $0.lowercased() }),
            scheme == "http" || scheme == "https", url.contains("://"), url.count > scheme.count + 3
        {
        } else {
            problems.append(.init(field: "\(field).url", message: "must be an absolute http:// or https:// URL"))
        }
        return problems
    }
}
