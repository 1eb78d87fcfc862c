import Foundation
import Logging
import SQLKit

/// Schema versions, applied in order at start-up inside one transaction each.
/// Never edit a shipped migration; add a new one.
enum Migrations {
    struct Migration: Sendable {
        let version: Int
        let name: String
        let statements: @Sendable (Dialect) -> [String]
    }

    static let all: [Migration] = [
        Migration(version: 1, name: "initial schema") { d in
            [
                """
                CREATE TABLE users (\(d.idColumn), username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
                  role TEXT NOT NULL, created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE api_tokens (\(d.idColumn), user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  name TEXT NOT NULL, prefix TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL,
                  last_used_at BIGINT, revoked_at BIGINT)
                """,
                """
                CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE events (\(d.idColumn), owner_id BIGINT NOT NULL REFERENCES users(id),
                  name TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL, trigger_type TEXT NOT NULL,
                  shared BOOLEAN NOT NULL, execution_count BIGINT NOT NULL DEFAULT 0, data TEXT NOT NULL,
                  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                "CREATE INDEX events_owner ON events(owner_id)",
                """
                CREATE TABLE executions (\(d.idColumn), event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
                  status TEXT NOT NULL, trigger TEXT NOT NULL, attempt BIGINT NOT NULL, scheduled_for BIGINT,
                  created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT, exit_code BIGINT,
                  output TEXT, error TEXT, log_bytes BIGINT NOT NULL DEFAULT 0, log_dropped_bytes BIGINT NOT NULL DEFAULT 0,
                  triggered_by BIGINT)
                """,
                "CREATE INDEX executions_event ON executions(event_id, id)",
                "CREATE INDEX executions_status ON executions(status)",
                """
                CREATE TABLE jobs (\(d.idColumn), execution_id BIGINT NOT NULL UNIQUE REFERENCES executions(id) ON DELETE CASCADE,
                  event_id BIGINT NOT NULL, state TEXT NOT NULL, run_at BIGINT NOT NULL, lease_owner TEXT,
                  lease_expires_at BIGINT, created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX jobs_ready ON jobs(state, run_at)",
                """
                CREATE TABLE log_lines (execution_id BIGINT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
                  seq BIGINT NOT NULL, ts BIGINT NOT NULL, stream TEXT NOT NULL, text TEXT NOT NULL,
                  PRIMARY KEY (execution_id, seq))
                """,
                """
                CREATE TABLE schedule_state (event_id BIGINT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
                  next_fire_at BIGINT, last_fire_at BIGINT)
                """,
                """
                CREATE TABLE schedule_ledger (\(d.idColumn), event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
                  scheduled_for BIGINT NOT NULL, recorded_at BIGINT NOT NULL, outcome TEXT NOT NULL, reason TEXT,
                  execution_id BIGINT)
                """,
                "CREATE INDEX schedule_ledger_event ON schedule_ledger(event_id, scheduled_for)",
            ]
        },
        Migration(version: 2, name: "execution error codes") { _ in
            ["ALTER TABLE executions ADD COLUMN error_code TEXT"]
        },
        Migration(version: 3, name: "execution output value, condition and cancel request") { _ in
            [
                "ALTER TABLE executions ADD COLUMN output_value TEXT", "ALTER TABLE executions ADD COLUMN condition BOOLEAN",
                "ALTER TABLE executions ADD COLUMN cancel_reason TEXT",
            ]
        },
        Migration(version: 4, name: "execution input") { _ in
            ["ALTER TABLE executions ADD COLUMN input TEXT"]
        },
        Migration(version: 5, name: "variables") { d in
            [
                """
                CREATE TABLE variables (\(d.idColumn), owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  key TEXT NOT NULL, value TEXT NOT NULL, secret BOOLEAN NOT NULL, description TEXT,
                  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, UNIQUE (owner_id, key))
                """
            ]
        },
        Migration(version: 6, name: "conditional actions") { d in
            [
                "ALTER TABLE executions ADD COLUMN parent_execution_id BIGINT",
                "ALTER TABLE executions ADD COLUMN chain_depth BIGINT",
                """
                CREATE TABLE action_firings (\(d.idColumn), execution_id BIGINT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
                  position BIGINT NOT NULL, run_when TEXT NOT NULL, type TEXT NOT NULL, target_event_id BIGINT, target_execution_id BIGINT,
                  status TEXT NOT NULL, error TEXT, fired_at BIGINT NOT NULL)
                """,
                "CREATE INDEX action_firings_execution ON action_firings(execution_id, position)",
            ]
        },
        Migration(version: 7, name: "remote servers") { d in
            [
                """
                CREATE TABLE servers (\(d.idColumn), owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  name TEXT NOT NULL, host TEXT NOT NULL, port BIGINT NOT NULL, username TEXT NOT NULL, auth TEXT NOT NULL,
                  credential TEXT NOT NULL, public_key TEXT, tags TEXT NOT NULL, host_keys TEXT NOT NULL, host_key_mismatch TEXT,
                  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, UNIQUE (owner_id, name))
                """
            ]
        },
        Migration(version: 8, name: "runs on several servers") { _ in
            [
                "ALTER TABLE executions ADD COLUMN part_of BIGINT", "ALTER TABLE executions ADD COLUMN server_name TEXT",
                "CREATE INDEX executions_part_of ON executions(part_of)",
            ]
        },
        Migration(version: 9, name: "tools") { d in
            [
                """
                CREATE TABLE tools (\(d.idColumn), owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  name TEXT NOT NULL, type TEXT NOT NULL, shared BOOLEAN NOT NULL, data TEXT NOT NULL, credential TEXT NOT NULL,
                  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, UNIQUE (owner_id, name))
                """
            ]
        },
        Migration(version: 10, name: "deliveries") { d in
            [
                """
                CREATE TABLE deliveries (\(d.idColumn), execution_id BIGINT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
                  action_position BIGINT, owner_id BIGINT NOT NULL, tool_name TEXT NOT NULL, subject TEXT, text TEXT NOT NULL,
                  status TEXT NOT NULL, attempts BIGINT NOT NULL, answer_status BIGINT, answer TEXT, error TEXT,
                  created_at BIGINT NOT NULL, finished_at BIGINT)
                """,
                "CREATE INDEX deliveries_execution ON deliveries(execution_id)",
                "CREATE INDEX deliveries_status ON deliveries(status)",
            ]
        },
        /// An email's recipients (a JSON array) and HTML alternative.
        Migration(version: 11, name: "email deliveries") { _ in
            ["ALTER TABLE deliveries ADD COLUMN recipients TEXT", "ALTER TABLE deliveries ADD COLUMN html TEXT"]
        },
        /// Workflows: their definition (nodes, connections, schedule) as JSON, a name unique per owner.
        Migration(version: 12, name: "workflows") { d in
            [
                """
                CREATE TABLE workflows (\(d.idColumn), owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  name TEXT NOT NULL, status TEXT NOT NULL, trigger_type TEXT NOT NULL, data TEXT NOT NULL,
                  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, UNIQUE (owner_id, name))
                """
            ]
        },
        /// Workflow runs: the definition they started with and their nodes' states (JSON, written
        /// whole in the transaction that records a node's end); node executions name their run.
        Migration(version: 13, name: "workflow runs") { d in
            [
                """
                CREATE TABLE workflow_runs (\(d.idColumn), workflow_id BIGINT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
                  status TEXT NOT NULL, trigger TEXT NOT NULL, input TEXT, triggered_by BIGINT, created_at BIGINT NOT NULL,
                  finished_at BIGINT, cancel_reason TEXT, definition TEXT NOT NULL, nodes TEXT NOT NULL)
                """,
                "CREATE INDEX workflow_runs_workflow ON workflow_runs(workflow_id)",
                "ALTER TABLE executions ADD COLUMN workflow_run_id BIGINT",
                "ALTER TABLE executions ADD COLUMN workflow_node TEXT",
            ]
        },
        /// Scheduled workflows: where each one's timetable stands and its ledger, as for events.
        Migration(version: 14, name: "workflow schedules") { d in
            [
                """
                CREATE TABLE workflow_schedule_state (workflow_id BIGINT PRIMARY KEY REFERENCES workflows(id) ON DELETE CASCADE,
                  next_fire_at BIGINT, last_fire_at BIGINT)
                """,
                """
                CREATE TABLE workflow_ledger (\(d.idColumn), workflow_id BIGINT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
                  scheduled_for BIGINT NOT NULL, recorded_at BIGINT NOT NULL, outcome TEXT NOT NULL, reason TEXT,
                  workflow_run_id BIGINT)
                """,
                "CREATE INDEX workflow_ledger_workflow ON workflow_ledger(workflow_id, scheduled_for)",
                "CREATE INDEX workflow_runs_status ON workflow_runs(workflow_id, status)",
            ]
        },
        /// Incoming webhooks: one per event or workflow, found by its key's hash; the key and the
        /// signing secret sealed. Signatures seen lately, each accepted once.
        Migration(version: 15, name: "hooks") { d in
            [
                """
                CREATE TABLE hooks (\(d.idColumn), event_id BIGINT UNIQUE REFERENCES events(id) ON DELETE CASCADE,
                  workflow_id BIGINT UNIQUE REFERENCES workflows(id) ON DELETE CASCADE, key_hash TEXT NOT NULL UNIQUE,
                  sealed TEXT NOT NULL, signed BOOLEAN NOT NULL, created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE hook_signatures (hook_id BIGINT NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
                  signature TEXT NOT NULL, forget_at BIGINT NOT NULL, PRIMARY KEY (hook_id, signature))
                """,
                "CREATE INDEX hook_signatures_forget ON hook_signatures(forget_at)",
            ]
        },
        /// `RUN_WORKFLOW` actions: the workflow and the run they started.
        Migration(version: 16, name: "workflow actions") { _ in
            [
                "ALTER TABLE action_firings ADD COLUMN target_workflow_id BIGINT",
                "ALTER TABLE action_firings ADD COLUMN target_workflow_run_id BIGINT",
            ]
        },
        /// An event's jobs by state: every run's end looks for a held run of its event to release.
        Migration(version: 17, name: "jobs by event") { _ in
            ["CREATE INDEX jobs_event ON jobs(event_id, state)"]
        },
        /// A browser session also ends after a spell without use (the web UI's idle lifetime).
        Migration(version: 18, name: "session idle time") { _ in
            ["ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT"]
        },
        /// Runs by the time they ended: a dashboard's counts and charts of the last day or week.
        Migration(version: 19, name: "runs by end time") { _ in
            ["CREATE INDEX executions_finished ON executions(finished_at)"]
        },
        /// A tool's recent deliveries, for its page in the web UI.
        Migration(version: 20, name: "deliveries by tool") { _ in
            ["CREATE INDEX deliveries_tool ON deliveries(tool_name, id)"]
        },
        /// Retention: an event's own limits (JSON, only where it has some), when a run's log was
        /// removed, the runs still holding a log (a partial index: the purge visits only those),
        /// and a workflow run's node runs, removed with it.
        Migration(version: 21, name: "retention") { _ in
            [
                "ALTER TABLE events ADD COLUMN retention TEXT",
                "ALTER TABLE executions ADD COLUMN logs_removed_at BIGINT",
                "CREATE INDEX executions_holding_logs ON executions(id) WHERE logs_removed_at IS NULL",
                "CREATE INDEX executions_workflow_run ON executions(workflow_run_id) WHERE workflow_run_id IS NOT NULL",
            ]
        },
    ]

    /// The newest version this build migrates to.
    static var latest: Int { all.last?.version ?? 0 }
    /// The column of `schema_migrations` naming the Cronium release that applied each migration,
    /// so that an older release refusing the database can say which one it needs.
    static let writtenByColumn = "cronium_version"

    /// Applies the migrations the database lacks up to `through` (the latest unless a test makes
    /// an older schema), each in a transaction of its own, recording `writtenBy` with each.
    /// Refuses a database that a newer release has migrated further.
    static func apply(to database: Database, writtenBy: String, through: Int = latest, logger: Logger) async throws {
        try await database.read { sql in
            try await sql.raw(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL, cronium_version TEXT)"
            ).run()
            // Databases made before the column existed get it.
            let columns = try await sql.raw("SELECT name FROM pragma_table_info('schema_migrations')").all(decodingColumn: "name", as: String.self)
            if !columns.contains(writtenByColumn) {
                try await sql.raw("ALTER TABLE schema_migrations ADD COLUMN cronium_version TEXT").run()
            }
        }
        let applied = try await database.read { sql in
            Set(try await sql.raw("SELECT version FROM schema_migrations").all(decodingColumn: "version", as: Int.self))
        }
        if let newest = applied.max(), newest > latest {
            throw StoreFailure(.schemaTooNew, "the database is at schema \(newest), newer than this Cronium's \(latest)")
        }
        for migration in all where !applied.contains(migration.version) && migration.version <= through {
            let statements = migration.statements(database.dialect)
            try await database.transaction { sql in
                for statement in statements { try await sql.raw(SQLQueryString(statement)).run() }
                try await sql.raw(
                    "INSERT INTO schema_migrations (version, name, applied_at, cronium_version) VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Date().millis), \(bind: writtenBy))"
                ).run()
            }
            logger.info("applied migration", metadata: ["db.migration": "\(migration.version) \(migration.name)"])
        }
    }
}
