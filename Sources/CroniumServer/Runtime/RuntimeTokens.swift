import CroniumCore
import CroniumEngine
import Crypto
import Foundation
import JWTKit

/// Signs and checks the tokens runs use on `/runtime/v1`: a JWT (HS256) that names one execution
/// and expires at its deadline plus a grace period. The key lives in the data directory
/// (`runtime.key`, 0600), so tokens of runs still going survive nothing but this server: a
/// restart interrupts those runs anyway.
struct RuntimeTokens: Sendable {
    let keys: JWTKeyCollection

    static let audience = "cronium-runtime"

    /// The key from `<dataDirectory>/runtime.key`, made on first use.
    static func load(dataDirectory: String) async throws -> RuntimeTokens {
        let key = try KeyFile(path: "\(dataDirectory)/runtime.key").load()
        return RuntimeTokens(keys: await JWTKeyCollection().add(hmac: HMACKey(key: key), digestAlgorithm: .sha256))
    }

    func token(for session: RuntimeSession) async throws -> String {
        try await keys.sign(
            Claims(
                subject: .init(value: String(session.executionId)),
                audience: .init(value: Self.audience),
                expiration: .init(value: session.expiresAt)
            )
        )
    }

    /// The execution a token names, when it is one of ours and has not expired; nil otherwise.
    func execution(of token: String) async -> ExecutionID? {
        guard let claims = try? await keys.verify(token, as: Claims.self) else { return nil }
        return ExecutionID(claims.subject.value)
    }

    struct Claims: JWTPayload {
        var subject: SubjectClaim
        var audience: AudienceClaim
        var expiration: ExpirationClaim

        enum CodingKeys: String, CodingKey {
            case subject = "sub"
            case audience = "aud"
            case expiration = "exp"
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try expiration.verifyNotExpired()
            try audience.verifyIntendedAudience(includes: RuntimeTokens.audience)
        }
    }
}
