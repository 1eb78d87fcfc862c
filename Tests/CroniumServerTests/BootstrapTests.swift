import CroniumEngine
import CroniumStore
import CroniumTesting
import Foundation
import Logging
import Testing

@testable import CroniumServer

@Suite struct BootstrapTests {
    @Test func firstStartCreatesOneAdminAndAPrivateTokenFile() async throws {
        let directory = try TemporaryDirectory("bootstrap")
        defer { directory.remove() }
        var configuration = ServerConfiguration()
        configuration.engine.dataDirectory = directory.appending("data")
        configuration.engine.bcryptCost = 4
        // Tests run side by side: no fixed port (the start checks that its port is free).
        configuration.port = 0
        let first = try await CroniumServer(configuration: configuration, logger: Logger(label: "t"))
        let admin = try #require(first.node.initialAdmin)
        #expect(admin.username == "admin" && admin.password.count == 20)
        let attributes = try FileManager.default.attributesOfItem(atPath: admin.tokenPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let token = try String(contentsOfFile: admin.tokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("crn_") && token.count > 40)
        // Only the hash is stored: the secret appears nowhere in the database file.
        let database = try Data(contentsOf: URL(fileURLWithPath: directory.appending("data/cronium.sqlite")))
        #expect(database.range(of: Data(token.utf8)) == nil)
        #expect(database.range(of: Data(admin.password.utf8)) == nil)
        await first.node.close()

        let second = try await CroniumServer(configuration: configuration, logger: Logger(label: "t"))
        #expect(second.node.initialAdmin == nil)
        // While it runs, the directory is its own: a third server is refused, naming the holder.
        do {
            _ = try await CroniumServer(configuration: configuration, logger: Logger(label: "t"))
            Issue.record("a second server started on a data directory in use")
        } catch {
            #expect("\(error)".contains("in use by another Cronium server (pid \(getpid()))"))
        }
        #expect(try await second.store.users().count == 1)
        await second.node.close()
    }
}
