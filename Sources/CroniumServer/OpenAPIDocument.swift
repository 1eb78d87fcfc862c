import Foundation

/// The API's OpenAPI 3.1 description, served at `/api/v1/openapi.json`. `operations` is the one
/// list of what the router serves; a test compares it with the router's real route table.
enum OpenAPIDocument {
    struct Operation {
        let method: String
        /// OpenAPI form, `{id}` for parameters.
        let path: String
        let summary: String
        var requestSchema: String? = nil
        var responseSchema: String? = nil
        var status: Int = 200
        var isPublic = false
        /// Takes a run's runtime token (`CRONIUM_RUNTIME_TOKEN`), not an API token.
        var isRuntime = false
    }

    static let operations: [Operation] = [
        .init(method: "GET", path: "/health", summary: "Liveness and version, without authentication", isPublic: true),
        .init(method: "GET", path: "/live", summary: "The process is up", isPublic: true),
        .init(method: "GET", path: "/ready", summary: "The database answers and the engine runs", isPublic: true),
        .init(method: "GET", path: "/metrics", summary: "Prometheus text format: runs, queue, scheduler lateness, API requests"),
        .init(method: "GET", path: "/api/v1/openapi.json", summary: "This document"),
        .init(
            method: "POST",
            path: "/api/v1/auth/login",
            summary: "Sign in; sets an HttpOnly session cookie and answers the token its writes must carry as X-CSRF-Token",
            requestSchema: "Login",
            responseSchema: "SignedIn",
            isPublic: true
        ),
        .init(method: "POST", path: "/api/v1/auth/logout", summary: "Sign out", status: 204),
        .init(
            method: "GET",
            path: "/api/v1/auth/session",
            summary: "The caller (null when nobody is signed in), and for a browser session the token its writes must carry as X-CSRF-Token",
            responseSchema: "SignedIn",
            isPublic: true
        ),
        .init(method: "GET", path: "/api/v1/me", summary: "The caller", responseSchema: "User"),
        .init(
            method: "POST",
            path: "/api/v1/me/password",
            summary: "Change the caller's password; the caller's other sessions end",
            requestSchema: "PasswordChange",
            status: 204
        ),
        .init(method: "GET", path: "/api/v1/users", summary: "List users (admin)", responseSchema: "UserList"),
        .init(
            method: "POST",
            path: "/api/v1/users",
            summary: "Create a user (admin); a generated password is returned once",
            requestSchema: "NewUser",
            status: 201
        ),
        .init(method: "GET", path: "/api/v1/tokens", summary: "List your API tokens (admin: ?all=true for everyone's)"),
        .init(
            method: "POST",
            path: "/api/v1/tokens",
            summary: "Create an API token; the secret is returned once",
            requestSchema: "NewToken",
            status: 201
        ),
        .init(method: "DELETE", path: "/api/v1/tokens/{id}", summary: "Revoke an API token", status: 204),
        .init(method: "GET", path: "/api/v1/events", summary: "List events you may see (?tag=, ?status=)", responseSchema: "EventList"),
        .init(method: "POST", path: "/api/v1/events", summary: "Create an event", requestSchema: "EventInput", responseSchema: "Event", status: 201),
        .init(
            method: "GET",
            path: "/api/v1/events/export",
            summary: "The events (?tag=, ?status=) as a document an import makes again",
            responseSchema: "EventDocument"
        ),
        .init(
            method: "POST",
            path: "/api/v1/events/import",
            summary: "Create or change your events to match a document, by name; all or nothing (?dryRun=true checks only)",
            requestSchema: "EventDocument",
            responseSchema: "ImportReport"
        ),
        .init(method: "GET", path: "/api/v1/events/{id}", summary: "Get an event", responseSchema: "Event"),
        .init(method: "PATCH", path: "/api/v1/events/{id}", summary: "Change the fields sent", requestSchema: "EventInput", responseSchema: "Event"),
        .init(method: "DELETE", path: "/api/v1/events/{id}", summary: "Delete an event and its history", status: 204),
        .init(
            method: "POST",
            path: "/api/v1/events/{id}/run",
            summary: "Run now, optionally with {\"input\": <JSON>}; returns the execution id",
            status: 202
        ),
        .init(method: "GET", path: "/api/v1/events/{id}/ledger", summary: "Every due schedule occurrence and what became of it"),
        .init(
            method: "GET",
            path: "/api/v1/events/{id}/next",
            summary: "The next fire times (?count=, 1-1000, default 5)",
            responseSchema: "UpcomingFires"
        ),
        .init(
            method: "GET",
            path: "/api/v1/executions",
            summary: "Runs, newest first (?eventId=, ?status=, ?before=, ?limit=)",
            responseSchema: "ExecutionList"
        ),
        .init(
            method: "GET",
            path: "/api/v1/system/storage",
            summary: "The database's size, the runs and log bytes it holds, the server's retention defaults and what the last purge removed",
            responseSchema: "StorageReport"
        ),
        .init(
            method: "POST",
            path: "/api/v1/system/purge",
            summary: "Administrators: remove now what has outlived its retention limits, and give the space back; answers what went",
            responseSchema: "Purge"
        ),
        .init(
            method: "GET",
            path: "/api/v1/images",
            summary: "The container engine, and each runner image's state (UP_TO_DATE, OUTDATED, MISSING)",
            responseSchema: "RunnerImages"
        ),
        .init(
            method: "POST",
            path: "/api/v1/schedules/preview",
            summary: "What a schedule would do before it is saved: its next fire times (?count=, default 5) and the clock changes that touch it",
            requestSchema: "Schedule",
            responseSchema: "SchedulePreview"
        ),
        .init(
            method: "GET",
            path: "/api/v1/executions/stats",
            summary: "Runs going now, and those that ended in the last day by hour or the last week by day (?window=24h|7d)",
            responseSchema: "ExecutionStats"
        ),
        .init(method: "GET", path: "/api/v1/executions/{id}", summary: "One run", responseSchema: "Execution"),
        .init(method: "POST", path: "/api/v1/executions/{id}/cancel", summary: "Cancel a queued or running run", responseSchema: "Execution"),
        .init(method: "GET", path: "/api/v1/executions/{id}/logs", summary: "A page of a run's log (?after=seq, ?limit=)"),
        .init(
            method: "GET",
            path: "/api/v1/executions/{id}/logs/stream",
            summary: "WebSocket: replay (after ?after=SEQ), follow, then the final status; ?batch=true sends lines together"
        ),
        .init(method: "GET", path: "/api/v1/variables", summary: "Your variables (secrets without their values)", responseSchema: "VariableList"),
        .init(method: "GET", path: "/api/v1/variables/export", summary: "Your variables as JSON or .env (?format=json|env, ?includeSecrets=true)"),
        .init(
            method: "POST",
            path: "/api/v1/variables/import",
            summary: "Set variables from JSON or a .env file (text/plain), all or nothing (?dryRun=true, ?secret=true)"
        ),
        .init(
            method: "GET",
            path: "/api/v1/variables/{key}",
            summary: "One variable (a secret's value with ?reveal=true)",
            responseSchema: "Variable"
        ),
        .init(
            method: "PUT",
            path: "/api/v1/variables/{key}",
            summary: "Create (201) or change (200) a variable",
            requestSchema: "VariableInput",
            responseSchema: "Variable"
        ),
        .init(method: "DELETE", path: "/api/v1/variables/{key}", summary: "Delete a variable", status: 204),
        .init(method: "GET", path: "/api/v1/servers", summary: "Your remote servers (?tag=); never their credentials"),
        .init(method: "POST", path: "/api/v1/servers", summary: "Add a server; its host key pinned by acceptHostKey or knownHosts", status: 201),
        .init(method: "POST", path: "/api/v1/servers/scan", summary: "The key a host offers ({host, port}), without logging in"),
        .init(method: "GET", path: "/api/v1/servers/{name}", summary: "One server"),
        .init(method: "PATCH", path: "/api/v1/servers/{name}", summary: "Change a server; acceptHostKey or knownHosts pins anew"),
        .init(method: "DELETE", path: "/api/v1/servers/{name}", summary: "Remove a server", status: 204),
        .init(method: "POST", path: "/api/v1/servers/{name}/check", summary: "Connect and log in as a run would; reachability, login, round trip"),
        .init(method: "GET", path: "/api/v1/tools", summary: "Your tools and the shared ones; never their credentials"),
        .init(method: "POST", path: "/api/v1/tools", summary: "Add a tool (EMAIL, SLACK, DISCORD, TEAMS, WEBHOOK)", status: 201),
        .init(
            method: "POST",
            path: "/api/v1/tools/preview",
            summary: "Render a message's templates over a past run ({executionId, subject, message})"
        ),
        .init(method: "GET", path: "/api/v1/tools/{name}", summary: "One tool"),
        .init(method: "PATCH", path: "/api/v1/tools/{name}", summary: "Change a tool (its owner only)"),
        .init(method: "DELETE", path: "/api/v1/tools/{name}", summary: "Remove a tool", status: 204),
        .init(method: "GET", path: "/api/v1/workflows", summary: "List your workflows (admin: everyone's)", responseSchema: "WorkflowList"),
        .init(
            method: "POST",
            path: "/api/v1/workflows",
            summary: "Create a workflow; every problem is named, nothing is stored on any",
            requestSchema: "WorkflowInput",
            responseSchema: "Workflow",
            status: 201
        ),
        .init(
            method: "GET",
            path: "/api/v1/workflows/export",
            summary: "Workflows (?id=, repeatable; all yours without) with the events they run, as a document POST /api/v1/events/import reads",
            responseSchema: "EventDocument"
        ),
        .init(method: "GET", path: "/api/v1/workflows/{id}", summary: "Get a workflow", responseSchema: "Workflow"),
        .init(
            method: "PATCH",
            path: "/api/v1/workflows/{id}",
            summary: "Replace the fields sent; checked as a whole",
            requestSchema: "WorkflowInput",
            responseSchema: "Workflow"
        ),
        .init(method: "DELETE", path: "/api/v1/workflows/{id}", summary: "Delete a workflow and its runs", status: 204),
        .init(
            method: "POST",
            path: "/api/v1/workflows/{id}/run",
            summary: "Run now, optionally with {\"input\": <JSON>} for the roots; returns the run id",
            status: 202
        ),
        .init(
            method: "GET",
            path: "/api/v1/workflows/{id}/runs",
            summary: "The workflow's runs, newest first (?limit=)",
            responseSchema: "WorkflowRunList"
        ),
        .init(method: "GET", path: "/api/v1/workflows/{id}/runs/{run}", summary: "One run, with every node's state", responseSchema: "WorkflowRun"),
        .init(
            method: "POST",
            path: "/api/v1/workflows/{id}/runs/{run}/cancel",
            summary: "Cancel a run: nodes under way are stopped, the rest cancelled",
            responseSchema: "WorkflowRun"
        ),
        .init(
            method: "GET",
            path: "/api/v1/workflows/{id}/ledger",
            summary: "Every due schedule occurrence and what became of it (?limit=&offset=)",
            responseSchema: "WorkflowLedger"
        ),
        .init(method: "GET", path: "/api/v1/workflows/{id}/next", summary: "The next fire times (?count=)", responseSchema: "UpcomingWorkflowFires"),
        .init(
            method: "POST",
            path: "/api/v1/workflows/{id}/pause",
            summary: "Status PAUSED: no schedule or webhook starts it",
            responseSchema: "Workflow"
        ),
        .init(method: "POST", path: "/api/v1/workflows/{id}/resume", summary: "Status ACTIVE", responseSchema: "Workflow"),
        .init(
            method: "POST",
            path: "/api/v1/hooks/{key}",
            summary: "A webhook delivery (no account; X-Cronium-Signature and X-Cronium-Timestamp when signed): the JSON body is the run's input",
            responseSchema: "HookDelivery",
            status: 202,
            isPublic: true
        ),
        .init(method: "GET", path: "/api/v1/events/{id}/hook", summary: "The webhook: its path, key and signing secret", responseSchema: "Hook"),
        .init(
            method: "POST",
            path: "/api/v1/events/{id}/hook/rotate",
            summary: "A new key and signing secret (made when there was none); {\"signed\": true} requires signatures",
            responseSchema: "Hook",
            status: 201
        ),
        .init(method: "DELETE", path: "/api/v1/events/{id}/hook", summary: "Remove the webhook", status: 204),
        .init(method: "GET", path: "/api/v1/workflows/{id}/hook", summary: "The webhook: its path, key and signing secret", responseSchema: "Hook"),
        .init(
            method: "POST",
            path: "/api/v1/workflows/{id}/hook/rotate",
            summary: "A new key and signing secret (made when there was none); {\"signed\": true} requires signatures",
            responseSchema: "Hook",
            status: 201
        ),
        .init(method: "DELETE", path: "/api/v1/workflows/{id}/hook", summary: "Remove the webhook", status: 204),
        .init(
            method: "POST",
            path: "/api/v1/tools/{name}/test",
            summary: "Send a test message ({to} for email; its sender when left out); what the far end answered"
        ),
        .init(
            method: "GET",
            path: "/api/v1/tools/{name}/deliveries",
            summary: "The newest messages sent through the tool, of the caller's runs (?limit=, default 20)",
            responseSchema: "DeliveryList"
        ),
        .init(method: "GET", path: "/runtime/v1/input", summary: "Runtime (a run's token): the run's input, any JSON", isRuntime: true),
        .init(
            method: "POST",
            path: "/runtime/v1/output",
            summary: "Runtime: set the run's output, any JSON (256 KiB at most)",
            status: 204,
            isRuntime: true
        ),
        .init(
            method: "POST",
            path: "/runtime/v1/condition",
            summary: "Runtime: set the run's condition (true or false)",
            status: 204,
            isRuntime: true
        ),
        .init(method: "GET", path: "/runtime/v1/context", summary: "Runtime: the run and its event", isRuntime: true),
        .init(
            method: "GET",
            path: "/runtime/v1/variables/{key}",
            summary: "Runtime: a variable of the run's owner ({key, value}, or the value as text/plain)",
            isRuntime: true
        ),
        .init(
            method: "PUT",
            path: "/runtime/v1/variables/{key}",
            summary: "Runtime: set a variable ({\"value\": …} or text/plain)",
            status: 204,
            isRuntime: true
        ),
        .init(method: "DELETE", path: "/runtime/v1/variables/{key}", summary: "Runtime: delete a variable", status: 204, isRuntime: true),
        .init(
            method: "POST",
            path: "/runtime/v1/messages",
            summary: "Runtime: send {tool or type, subject, message, to, html} through one of the owner's tools; 424 when the far end refuses it",
            isRuntime: true
        ),
    ]

    static func json() throws -> Data {
        var paths: [String: [String: Any]] = [:]
        for operation in operations {
            var entry: [String: Any] = ["summary": operation.summary]
            var response: [String: Any] = ["description": operation.summary]
            if let schema = operation.responseSchema {
                response["content"] = ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]]
            }
            entry["responses"] = [
                String(operation.status): response,
                "default": [
                    "description": "An error", "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
                ],
            ]
            if let schema = operation.requestSchema {
                entry["requestBody"] = ["required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]]]
            }
            if operation.path.contains("{id}") {
                entry["parameters"] = [["name": "id", "in": "path", "required": true, "schema": ["type": "integer"]]]
            }
            if operation.path.contains("{key}") {
                entry["parameters"] = [
                    ["name": "key", "in": "path", "required": true, "schema": ["type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$"]]
                ]
            }
            if operation.path.contains("{name}") {
                entry["parameters"] = [
                    ["name": "name", "in": "path", "required": true, "schema": ["type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"]]
                ]
            }
            if operation.isPublic { entry["security"] = [] as [Any] }
            if operation.isRuntime { entry["security"] = [["runtime": [] as [Any]]] }
            paths[operation.path, default: [:]][operation.method.lowercased()] = entry
        }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "Cronium API", "version": "1"],
            "security": [["bearer": [] as [Any]], ["session": [] as [Any]]],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer"],
                    "runtime": [
                        "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A run's own token, CRONIUM_RUNTIME_TOKEN",
                    ],
                    "session": ["type": "apiKey", "in": "cookie", "name": AuthMiddleware.sessionCookie],
                ],
                "schemas": OpenAPISchemas.all,
            ],
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
