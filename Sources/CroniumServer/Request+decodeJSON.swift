import Foundation
import Hummingbird

extension Request {
    /// Largest JSON body accepted; events are small, scripts included.
    static let maxJSONBytes = 4 << 20

    /// Decodes the JSON body, keeping `DecodingError`s intact so ``ProblemMiddleware`` can name the field.
    func decodeJSON<T: Decodable>(as type: T.Type, context: AppRequestContext) async throws -> T {
        let buffer = try await body.collect(upTo: Self.maxJSONBytes)
        return try context.requestDecoder.decode(T.self, from: Data(buffer.readableBytesView))
    }
}
