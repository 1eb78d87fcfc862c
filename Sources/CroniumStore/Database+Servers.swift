import CroniumCore
import Foundation
import SQLKit

/// A remote server as stored: its credential is the cipher text the engine made of it.
public struct StoredServer: Sendable, Equatable {
    public var server: RemoteServer
    public var ownerId: UserID
    public var sealedCredential: String

    public init(server: RemoteServer, ownerId: UserID, sealedCredential: String) {
        self.server = server
        self.ownerId = ownerId
        self.sealedCredential = sealedCredential
    }
}

/// A sealed value in any table, for a change of the master key.
public struct SealedValue: Sendable, Equatable {
    public enum Table: String, Sendable { case variables, servers, tools, hooks }
    public var table: Table
    public var id: Int64
    public var storedValue: String

    public init(table: Table, id: Int64, storedValue: String) {
        self.table = table
        self.id = id
        self.storedValue = storedValue
    }
}

extension Database {
    public func servers(ownerId: UserID) async throws -> [StoredServer] {
        try await read { sql in
            try await sql.raw("SELECT * FROM servers WHERE owner_id = \(bind: ownerId) ORDER BY name").all().map(Self.decodeServer)
        }
    }

    public func server(ownerId: UserID, name: String) async throws -> StoredServer? {
        try await read { sql in
            try await sql.raw("SELECT * FROM servers WHERE owner_id = \(bind: ownerId) AND name = \(bind: name)").first().map(Self.decodeServer)
        }
    }

    public func server(id: RemoteServerID) async throws -> StoredServer? {
        try await read { sql in try await sql.raw("SELECT * FROM servers WHERE id = \(bind: id)").first().map(Self.decodeServer) }
    }

    /// Stores a new server (id 0) or replaces one; returns it with its id. A name the owner
    /// already uses is a ``CroniumError/Code/conflict``.
    public func saveServer(_ stored: StoredServer) async throws -> RemoteServer {
        let s = stored.server
        let (tags, keys, mismatch) = (try Self.json(s.tags), try Self.json(s.hostKeys), try s.hostKeyMismatch.map(Self.json))
        return try await transaction { sql in
            if try await sql.raw("SELECT id FROM servers WHERE owner_id = \(bind: stored.ownerId) AND name = \(bind: s.name) AND id <> \(bind: s.id)")
                .first() != nil
            {
                throw CroniumError(.conflict, "you already have a server named \(s.name)")
            }
            var saved = s
            if s.id.rawValue == 0 {
                saved.id = try await sql.raw(
                    """
                    INSERT INTO servers (owner_id, name, host, port, username, auth, credential, public_key, tags, host_keys, host_key_mismatch, created_at, updated_at)
                    VALUES (\(bind: stored.ownerId), \(bind: s.name), \(bind: s.host), \(bind: s.port), \(bind: s.username), \(bind: s.auth.rawValue),
                      \(bind: stored.sealedCredential), \(bind: s.publicKey), \(bind: tags), \(bind: keys), \(bind: mismatch),
                      \(bind: s.createdAt.millis), \(bind: s.updatedAt.millis))
                    RETURNING id
                    """
                ).first(decodingColumn: "id", as: RemoteServerID.self).required("the new server's id")
            } else {
                try await sql.raw(
                    """
                    UPDATE servers SET name = \(bind: s.name), host = \(bind: s.host), port = \(bind: s.port), username = \(bind: s.username),
                      auth = \(bind: s.auth.rawValue), credential = \(bind: stored.sealedCredential), public_key = \(bind: s.publicKey),
                      tags = \(bind: tags), host_keys = \(bind: keys), host_key_mismatch = \(bind: mismatch), updated_at = \(bind: s.updatedAt.millis)
                    WHERE id = \(bind: s.id)
                    """
                ).run()
            }
            return saved
        }
    }

    /// Records (or clears, with nil) a host key the host offered that is not pinned.
    public func setHostKeyMismatch(serverId: RemoteServerID, _ mismatch: HostKeyMismatch?) async throws {
        let text = try mismatch.map(Self.json)
        try await transaction { sql in
            try await sql.raw("UPDATE servers SET host_key_mismatch = \(bind: text) WHERE id = \(bind: serverId)").run()
        }
    }

    /// Whether there was such a server.
    public func deleteServer(ownerId: UserID, name: String) async throws -> Bool {
        try await transaction { sql in
            try await sql.raw("DELETE FROM servers WHERE owner_id = \(bind: ownerId) AND name = \(bind: name) RETURNING id").first() != nil
        }
    }

    /// Every sealed value (secret variables, server and tool credentials), for a change of the master key.
    public func allSealedValues() async throws -> [SealedValue] {
        try await read { sql in
            let variables = try await sql.raw("SELECT id, value FROM variables WHERE secret = \(bind: true) ORDER BY id").all().map {
                SealedValue(
                    table: .variables,
                    id: try $0.decode(column: "id", as: Int64.self),
                    storedValue: try $0.decode(column: "value", as: String.self)
                )
            }
            let servers = try await sql.raw("SELECT id, credential FROM servers ORDER BY id").all().map {
                SealedValue(
                    table: .servers,
                    id: try $0.decode(column: "id", as: Int64.self),
                    storedValue: try $0.decode(column: "credential", as: String.self)
                )
            }
            let tools = try await sql.raw("SELECT id, credential FROM tools ORDER BY id").all().map {
                SealedValue(
                    table: .tools,
                    id: try $0.decode(column: "id", as: Int64.self),
                    storedValue: try $0.decode(column: "credential", as: String.self)
                )
            }
            let hooks = try await sql.raw("SELECT id, sealed FROM hooks ORDER BY id").all().map {
                SealedValue(
                    table: .hooks,
                    id: try $0.decode(column: "id", as: Int64.self),
                    storedValue: try $0.decode(column: "sealed", as: String.self)
                )
            }
            return variables + servers + tools + hooks
        }
    }

    /// Replaces sealed values in one transaction.
    public func replaceSealedValues(_ values: [SealedValue]) async throws {
        try await transaction { sql in
            for value in values {
                switch value.table {
                case .variables:
                    try await sql.raw(
                        "UPDATE variables SET value = \(bind: value.storedValue) WHERE id = \(bind: value.id) AND secret = \(bind: true)"
                    ).run()
                case .servers:
                    try await sql.raw("UPDATE servers SET credential = \(bind: value.storedValue) WHERE id = \(bind: value.id)").run()
                case .tools:
                    try await sql.raw("UPDATE tools SET credential = \(bind: value.storedValue) WHERE id = \(bind: value.id)").run()
                case .hooks:
                    try await sql.raw("UPDATE hooks SET sealed = \(bind: value.storedValue) WHERE id = \(bind: value.id)").run()
                }
            }
        }
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func fromJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(type, from: Data(text.utf8))
    }

    static func decodeServer(_ row: any SQLRow) throws -> StoredServer {
        let server = RemoteServer(
            id: try row.decode(column: "id", as: RemoteServerID.self),
            name: try row.decode(column: "name", as: String.self),
            host: try row.decode(column: "host", as: String.self),
            port: try row.decode(column: "port", as: Int.self),
            username: try row.decode(column: "username", as: String.self),
            auth: RemoteAuth(rawValue: try row.decode(column: "auth", as: String.self)) ?? .privateKey,
            publicKey: try row.decode(column: "public_key", as: String?.self),
            tags: try fromJSON([String].self, try row.decode(column: "tags", as: String.self)),
            hostKeys: try fromJSON([PinnedHostKey].self, try row.decode(column: "host_keys", as: String.self)),
            hostKeyMismatch: try row.decode(column: "host_key_mismatch", as: String?.self).map { try fromJSON(HostKeyMismatch.self, $0) },
            createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(millis: try row.decode(column: "updated_at", as: Int64.self))
        )
        return StoredServer(
            server: server,
            ownerId: try row.decode(column: "owner_id", as: UserID.self),
            sealedCredential: try row.decode(column: "credential", as: String.self)
        )
    }
}
