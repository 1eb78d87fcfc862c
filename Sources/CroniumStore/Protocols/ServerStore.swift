import CroniumCore
import Foundation

/// Remote servers (credentials as the engine sealed them).
public protocol ServerStore: Sendable {
    func servers(ownerId: UserID) async throws -> [StoredServer]
    func server(ownerId: UserID, name: String) async throws -> StoredServer?
    func server(id: RemoteServerID) async throws -> StoredServer?
    /// Stores a new server (id 0) or replaces one; returns it with its id. A name the owner
    /// already uses is a ``CroniumError/Code/conflict``.
    func saveServer(_ stored: StoredServer) async throws -> RemoteServer
    /// Records (or clears, with nil) a host key the host offered that is not pinned.
    func setHostKeyMismatch(serverId: RemoteServerID, _ mismatch: HostKeyMismatch?) async throws
    /// Whether there was such a server.
    func deleteServer(ownerId: UserID, name: String) async throws -> Bool
}
