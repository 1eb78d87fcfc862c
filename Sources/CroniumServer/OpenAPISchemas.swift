import CroniumCore

/// JSON Schemas of the API's bodies, kept beside the Codable types they describe.
enum OpenAPISchemas {
    static func enumeration(_ values: [String]) -> [String: Any] { ["type": "string", "enum": values] }
    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }
    static func list(_ name: String) -> [String: Any] { ["type": "array", "items": ref(name)] }
    static var string: [String: Any] { ["type": "string"] }
    static var integer: [String: Any] { ["type": "integer"] }
    static var boolean: [String: Any] { ["type": "boolean"] }
    static var dateTime: [String: Any] { ["type": "string", "format": "date-time"] }
    static var stringMap: [String: Any] { ["type": "object", "additionalProperties": ["type": "string"]] }

    static var eventFields: [String: Any] {
        [
            "name": string, "description": string, "type": enumeration(EventType.allCases.map(\.rawValue)), "content": string,
            "httpRequest": ref("HTTPRequest"),
            "toolAction": [
                "type": "object", "required": ["tool", "message"],
                "properties": ["tool": string, "subject": string, "message": string, "to": ["type": "array", "items": string], "html": string],
            ],
            "status": enumeration(EventStatus.allCases.map(\.rawValue)),
            "triggerType": enumeration(TriggerType.allCases.map(\.rawValue)), "schedule": ref("Schedule"), "environment": stringMap,
            "variables": stringMap,
            "timeoutValue": integer, "timeoutUnit": enumeration(TimeUnit.allCases.map(\.rawValue)), "retries": integer,
            "retryBackoffSeconds": integer, "maxExecutions": integer, "resetCounterOnActive": boolean,
            "tags": ["type": "array", "items": string], "runLocation": enumeration(RunLocation.allCases.map(\.rawValue)),
            "image": string, "servers": ["type": "array", "items": string], "serverTag": string, "networkAccess": boolean, "shared": boolean,
            "logCapBytes": integer,
            "limits": [
                "type": "object",
                "properties": ["memoryMB": integer, "processes": integer, "openFiles": integer, "diskMB": integer, "cpus": ["type": "number"]],
            ],
            "readOnlyPaths": ["type": "array", "items": string],
            "retention": ref("Retention"),
        ]
    }

    static var workflowFields: [String: Any] {
        [
            "name": string, "description": string, "status": enumeration(WorkflowStatus.allCases.map(\.rawValue)),
            "trigger": enumeration(WorkflowTrigger.allCases.map(\.rawValue)), "schedule": ref("Schedule"),
            "overlap": enumeration(OverlapPolicy.allCases.map(\.rawValue)), "nodes": list("WorkflowNode"), "connections": list("WorkflowConnection"),
        ]
    }

    static var all: [String: Any] {
        var event = eventFields
        event["id"] = integer
        event["ownerId"] = integer
        event["executionCount"] = integer
        event["createdAt"] = dateTime
        event["updatedAt"] = dateTime
        event["nextFireAt"] = dateTime
        event["lastExecution"] =
            [
                "type": "object",
                "properties": [
                    "id": integer, "status": enumeration(ExecutionStatus.allCases.map(\.rawValue)),
                    "trigger": enumeration(ExecutionTrigger.allCases.map(\.rawValue)),
                    "startedAt": dateTime, "finishedAt": dateTime, "exitCode": integer, "errorCode": string,
                    "outputValue": ["description": "What the script set with output(): any JSON"], "condition": ["type": "boolean"],
                ],
            ] as [String: Any]
        return [
            "Problem": [
                "type": "object",
                "properties": ["type": string, "code": string, "title": string, "status": integer, "detail": string, "errors": list("FieldProblem")],
            ],
            "FieldProblem": ["type": "object", "properties": ["field": string, "message": string]],
            "Login": ["type": "object", "required": ["username", "password"], "properties": ["username": string, "password": string]],
            "NewUser": [
                "type": "object", "required": ["username"],
                "properties": ["username": string, "password": string, "role": enumeration(Role.allCases.map(\.rawValue))],
            ],
            "NewToken": ["type": "object", "required": ["name"], "properties": ["name": string]],
            "ExecutionStats": [
                "type": "object",
                "properties": [
                    "running": integer, "pending": integer, "since": dateTime, "sliceSeconds": integer,
                    "buckets": [
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": [
                                "start": dateTime, "ended": ["type": "object", "additionalProperties": integer],
                                "meanDurationMs": integer, "maxDurationMs": integer,
                            ],
                        ],
                    ],
                ],
            ],
            "Delivery": [
                "type": "object",
                "properties": [
                    "id": integer, "executionId": integer, "actionPosition": integer, "ownerId": integer, "toolName": string, "subject": string,
                    "text": string, "to": ["type": "array", "items": string], "html": string,
                    "status": enumeration(["PENDING", "SENDING", "DELIVERED", "FAILED"]), "attempts": integer, "answerStatus": integer,
                    "answer": string,
                    "error": string, "createdAt": dateTime, "finishedAt": dateTime,
                ],
            ],
            "DeliveryList": list("Delivery"),
            "Retention": [
                "type": "object",
                "description": "How long runs and logs are kept; a field left out takes the server's default, 0 switches that limit off",
                "properties": ["runsDays": integer, "lastRuns": integer, "logsDays": integer],
            ],
            "StorageReport": [
                "type": "object",
                "properties": [
                    "storage": [
                        "type": "object",
                        "properties": ["databaseBytes": integer, "freeBytes": integer, "runs": integer, "logBytes": integer],
                    ],
                    "retention": ref("Retention"),
                    "lastPurge": ref("Purge"),
                    "removedSinceStart": ["type": "object", "additionalProperties": integer],
                ],
            ],
            "Purge": [
                "type": "object",
                "properties": ["endedAt": dateTime, "removed": ["type": "object", "additionalProperties": integer], "freedBytes": integer],
            ],
            "RunnerImages": [
                "type": "object",
                "properties": [
                    "engine": ["type": "object", "properties": ["available": boolean, "detail": string]],
                    "images": [
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": ["name": string, "state": enumeration(["UP_TO_DATE", "OUTDATED", "MISSING", "UNKNOWN"]), "id": string],
                        ],
                    ],
                ],
            ],
            "SchedulePreview": [
                "type": "object",
                "properties": [
                    "timeZone": string, "times": ["type": "array", "items": dateTime],
                    "dst": [
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": [
                                "kind": enumeration(["GAP", "OVERLAP"]), "at": dateTime, "wallTimes": ["type": "array", "items": string],
                                "message": string,
                            ],
                        ],
                    ],
                ],
            ],
            "SignedIn": ["type": "object", "properties": ["user": ref("User"), "csrfToken": string]],
            "PasswordChange": [
                "type": "object", "required": ["currentPassword", "newPassword"],
                "properties": ["currentPassword": string, "newPassword": string],
            ],
            "User": [
                "type": "object",
                "properties": ["id": integer, "username": string, "role": enumeration(Role.allCases.map(\.rawValue)), "createdAt": dateTime],
            ],
            "UserList": list("User"),
            "HTTPRequest": [
                "type": "object", "required": ["url"], "properties": ["method": string, "url": string, "headers": stringMap, "body": string],
            ],
            "Schedule": [
                "type": "object", "required": ["kind"],
                "properties": [
                    "kind": enumeration(["interval", "cron", "once"]), "intervalSeconds": integer, "cron": string, "startAt": dateTime,
                    "timeZone": string,
                    "dstGap": enumeration(DSTGapPolicy.allCases.map(\.rawValue)),
                    "dstOverlap": enumeration(DSTOverlapPolicy.allCases.map(\.rawValue)),
                    "misfire": enumeration(MisfirePolicy.allCases.map(\.rawValue)), "overlap": enumeration(OverlapPolicy.allCases.map(\.rawValue)),
                ],
            ],
            "EventInput": ["type": "object", "properties": eventFields],
            "Event": ["type": "object", "properties": event],
            "EventList": list("Event"),
            "EventDocument": [
                "type": "object", "properties": ["version": integer, "events": list("EventInput"), "workflows": list("WorkflowInput")],
            ],
            "ImportReport": [
                "type": "object",
                "properties": [
                    "dryRun": boolean, "created": list("ImportEntry"), "updated": list("ImportEntry"), "unchanged": list("ImportEntry"),
                    "workflows": [
                        "type": "object",
                        "properties": ["created": list("ImportEntry"), "updated": list("ImportEntry"), "unchanged": list("ImportEntry")],
                    ],
                ],
            ],
            "ImportEntry": ["type": "object", "properties": ["id": integer, "name": string]],
            "UpcomingFires": [
                "type": "object",
                "properties": [
                    "eventId": integer, "status": enumeration(EventStatus.allCases.map(\.rawValue)), "fires": boolean, "timeZone": string,
                    "times": ["type": "array", "items": dateTime],
                ],
            ],
            "Execution": [
                "type": "object",
                "properties": [
                    "id": integer, "eventId": integer, "status": enumeration(ExecutionStatus.allCases.map(\.rawValue)),
                    "trigger": enumeration(ExecutionTrigger.allCases.map(\.rawValue)), "attempt": integer, "scheduledFor": dateTime,
                    "createdAt": dateTime, "startedAt": dateTime, "finishedAt": dateTime, "exitCode": integer, "output": string, "error": string,
                    "errorCode": enumeration(ExecutionErrorCode.allCases.map(\.rawValue)),
                    "outputValue": ["description": "What the script set with output(): any JSON"],
                    "input": ["description": "What the run was started with: any JSON"],
                    "condition": ["type": "boolean"],
                    "logBytes": integer, "logDroppedBytes": integer, "triggeredBy": integer,
                    "logsRemovedAt": ["type": "string", "format": "date-time", "description": "When the retention policy removed the run's log"],
                    "partOf": ["type": "integer", "description": "The REMOTE run this part (one server's run) belongs to"],
                    "server": ["type": "string", "description": "The server a part ran on"],
                    "parts": ["type": "array", "description": "A REMOTE run's parts, one per server", "items": ref("Execution")],
                    "workflowRunId": ["type": "integer", "description": "A workflow node's run: its workflow run"],
                    "workflowNode": ["type": "string", "description": "A workflow node's run: the node's key"],
                ],
            ],
            "ExecutionList": list("Execution"),
            "WorkflowNode": [
                "type": "object", "required": ["key"],
                "properties": [
                    "key": string, "eventId": integer, "eventName": string, "join": enumeration(NodeJoin.allCases.map(\.rawValue)),
                    "input": ["description": "Merged over what arrives: any JSON"],
                    "runLocation": enumeration(RunLocation.allCases.map(\.rawValue)), "servers": ["type": "array", "items": string],
                    "serverTag": string, "image": string, "timeoutSeconds": integer, "retries": integer,
                ],
            ],
            "WorkflowConnection": [
                "type": "object", "required": ["from", "to"],
                "properties": ["from": string, "to": string, "when": enumeration(ActionCondition.allCases.map(\.rawValue))],
            ],
            "WorkflowInput": ["type": "object", "properties": workflowFields],
            "Workflow": [
                "type": "object",
                "properties": workflowFields.merging(["id": integer, "ownerId": integer, "createdAt": dateTime, "updatedAt": dateTime]) { $1 },
            ],
            "WorkflowList": list("Workflow"),
            "WorkflowRun": [
                "type": "object",
                "properties": [
                    "id": integer, "workflowId": integer, "status": enumeration(WorkflowRunStatus.allCases.map(\.rawValue)),
                    "trigger": enumeration(WorkflowTrigger.allCases.map(\.rawValue)), "input": ["description": "The roots' input: any JSON"],
                    "triggeredBy": integer, "createdAt": dateTime, "finishedAt": dateTime, "cancelReason": string,
                    "nodes": [
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": [
                                "key": string, "state": enumeration(["PENDING", "RUNNING", "ENDED", "SKIPPED", "CANCELLED"]),
                                "status": enumeration(ExecutionStatus.allCases.map(\.rawValue)), "condition": boolean, "reason": string,
                                "executionId": integer, "output": ["description": "What the node's run set with output(): any JSON"],
                                "startedAt": dateTime, "finishedAt": dateTime,
                            ],
                        ],
                    ],
                ],
            ],
            "WorkflowRunList": list("WorkflowRun"),
            "WorkflowOccurrence": [
                "type": "object",
                "properties": [
                    "id": integer, "workflowId": integer, "scheduledFor": dateTime, "recordedAt": dateTime,
                    "outcome": enumeration(OccurrenceOutcome.allCases.map(\.rawValue)), "reason": string, "workflowRunId": integer,
                ],
            ],
            "WorkflowLedger": list("WorkflowOccurrence"),
            "Hook": [
                "type": "object",
                "properties": [
                    "eventId": integer, "workflowId": integer, "path": string, "key": string, "signingSecret": string,
                    "signed": boolean, "createdAt": dateTime,
                ],
            ],
            "HookDelivery": [
                "type": "object",
                "properties": ["executionId": integer, "workflowId": integer, "workflowRunId": integer, "status": string],
            ],
            "UpcomingWorkflowFires": [
                "type": "object",
                "properties": [
                    "workflowId": integer, "status": enumeration(WorkflowStatus.allCases.map(\.rawValue)), "fires": boolean, "timeZone": string,
                    "times": ["type": "array", "items": dateTime],
                ],
            ],
            "Variable": [
                "type": "object",
                "properties": [
                    "key": string, "value": string, "secret": ["type": "boolean"], "description": string, "createdAt": dateTime,
                    "updatedAt": dateTime,
                ],
            ],
            "VariableInput": ["type": "object", "properties": ["value": string, "secret": ["type": "boolean"], "description": string]],
            "VariableList": list("Variable"),
        ]
    }
}
