// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "cronium",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cronium", targets: ["cronium"]),
        .executable(name: "cronium-bench", targets: ["CroniumBench"]),
        .executable(name: "cronium-runner", targets: ["cronium-runner"]),
        .library(name: "CroniumCore", targets: ["CroniumCore"]),
        /// Real parts for tests: an engine run in a scope, temporary directories, an sshd, an SMTP
        /// receiver, a local HTTP server.
        .library(name: "CroniumTesting", targets: ["CroniumTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssh.git", from: "0.15.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.12.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        .target(name: "CroniumCore", swiftSettings: swiftSettings),
        /// The system's zlib, for the runner's tar.gz payloads.
        .systemLibrary(name: "CZlib"),
        /// The commit and date `scripts/package.sh` compiles into a packaged build.
        .target(name: "CCroniumBuild"),
        /// What the server and `cronium-runner` share: the frames of their protocol, signed
        /// payloads (tar.gz with a manifest). No Foundation beyond FoundationEssentials.
        .target(
            name: "CroniumRunnerKit",
            // No Foundation and no swift-crypto: the runner copied to every server is built on it.
            dependencies: ["CZlib", "CCroniumBuild"],
            swiftSettings: swiftSettings
        ),
        /// The runtime helper libraries (Python, Node.js, Bash), embedded in the binary.
        .target(
            name: "CroniumHelpers",
            path: "Helpers",
            exclude: ["python/pyproject.toml", "python/tests", "node/package.json", "node/test", "bash/test.sh", "README.md"],
            sources: ["HelperFiles.swift"],
            resources: [
                .embedInCode("python/cronium/__init__.py"), .embedInCode("node/cronium/index.js"), .embedInCode("bash/cronium.sh"),
                .embedInCode("bash/autoload.sh"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CroniumStore",
            dependencies: [
                "CroniumCore", "CCroniumSQLite",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                // Its C module (`VaporCSQLite`, the SQLite it bundles) runs the store's statements
                // directly: one copy of SQLite in the process, as two would not share file locks.
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        /// What a run's child does between fork and exec, and the sandbox's seccomp program: only C
        /// can run safely in a child that shares the server's memory.
        .target(name: "CCroniumSystem"),
        /// The one call into the SQLite that sqlite-nio bundles that Swift cannot make (a variadic
        /// function); linked only where the store is.
        .target(name: "CCroniumSQLite"),
        /// Copied to remote servers and started over SSH for each run: its Swift runtime linked
        /// in, so it needs nothing on the host but the C library (and zlib).
        .executableTarget(
            name: "cronium-runner",
            dependencies: ["CroniumRunnerKit", "CCroniumSystem"],
            swiftSettings: swiftSettings,
            // Copied to every server: the Swift runtime linked in, and symbols stripped in release.
            linkerSettings: [.unsafeFlags(["-static-stdlib"]), .unsafeFlags(["-Xlinker", "-s"], .when(configuration: .release))]
        ),
        .target(
            name: "CroniumExecutors",
            dependencies: [
                "CroniumCore", "CCroniumSystem", "CroniumHelpers", "CroniumRunnerKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CroniumEngine",
            dependencies: [
                "CroniumCore", "CroniumStore", "CroniumExecutors", "CCroniumSystem",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The web UI (HTML, CSS and ES modules, no build step), embedded in the binary.
        .target(
            name: "CroniumWeb",
            path: "Web",
            sources: ["WebFiles.swift"],
            resources: [
                .embedInCode("index.html"), .embedInCode("app.css"), .embedInCode("icon.svg"), .embedInCode("app.js"),
                .embedInCode("api.js"), .embedInCode("dom.js"), .embedInCode("page-signin.js"), .embedInCode("page-dashboard.js"),
                .embedInCode("page-events.js"), .embedInCode("page-event.js"), .embedInCode("page-executions.js"),
                .embedInCode("page-execution.js"), .embedInCode("page-account.js"), .embedInCode("run-dialog.js"), .embedInCode("graph.js"),
                .embedInCode("page-workflows.js"), .embedInCode("page-workflow.js"), .embedInCode("page-workflow-run.js"),
                .embedInCode("page-servers.js"), .embedInCode("page-server.js"), .embedInCode("page-variables.js"), .embedInCode("page-users.js"),
                .embedInCode("page-tools.js"), .embedInCode("page-tool.js"), .embedInCode("page-ledger.js"),
                .embedInCode("schedule-builder.js"), .embedInCode("page-images.js"),
                .embedInCode("code-editor.js"), .embedInCode("event-editor.js"), .embedInCode("actions-editor.js"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CroniumServer",
            dependencies: [
                "CroniumEngine", "CroniumRunnerKit", "CroniumWeb",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cronium",
            dependencies: [
                "CroniumServer", "CroniumCore", "CroniumExecutors", "CroniumRunnerKit", "cronium-runner",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CroniumTesting",
            dependencies: [
                "CroniumEngine",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CroniumBench",
            dependencies: [
                "CroniumEngine", "CroniumExecutors", "CroniumStore", "CroniumCore", "CCroniumSystem", "CroniumTesting", "CroniumServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/CroniumBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CroniumCoreTests", dependencies: ["CroniumCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CroniumRunnerKitTests",
            dependencies: ["CroniumRunnerKit", "CroniumExecutors", "CroniumTesting", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CroniumStoreTests",
            dependencies: ["CroniumStore", "CroniumTesting", .product(name: "SQLKit", package: "sql-kit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CroniumExecutorsTests",
            dependencies: ["CroniumExecutors", "CroniumEngine", "CroniumTesting", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CroniumEngineTests",
            dependencies: ["CroniumEngine", "CroniumTesting", .product(name: "SQLKit", package: "sql-kit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CroniumServerTests",
            dependencies: [
                "CroniumServer", "CroniumTesting", "cronium",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
