/// The web UI's files, compiled into the binary so that a copied `cronium` serves the very files
/// it was built and tested with, and nothing is fetched from anywhere else.
/// `WebFilesTests` checks that every file of `Web/` is listed here and in Package.swift.
public enum WebFiles {
    public static let all: [(name: String, contents: [UInt8])] = [
        ("index.html", PackageResources.index_html),
        ("app.css", PackageResources.app_css),
        ("icon.svg", PackageResources.icon_svg),
        ("app.js", PackageResources.app_js),
        ("api.js", PackageResources.api_js),
        ("dom.js", PackageResources.dom_js),
        ("page-signin.js", PackageResources.page_signin_js),
        ("page-dashboard.js", PackageResources.page_dashboard_js),
        ("page-events.js", PackageResources.page_events_js),
        ("page-event.js", PackageResources.page_event_js),
        ("page-executions.js", PackageResources.page_executions_js),
        ("page-execution.js", PackageResources.page_execution_js),
        ("page-account.js", PackageResources.page_account_js),
        ("run-dialog.js", PackageResources.run_dialog_js),
        ("graph.js", PackageResources.graph_js),
        ("page-workflows.js", PackageResources.page_workflows_js),
        ("page-workflow.js", PackageResources.page_workflow_js),
        ("page-workflow-run.js", PackageResources.page_workflow_run_js),
        ("page-servers.js", PackageResources.page_servers_js),
        ("page-server.js", PackageResources.page_server_js),
        ("page-variables.js", PackageResources.page_variables_js),
        ("page-users.js", PackageResources.page_users_js),
        ("page-tools.js", PackageResources.page_tools_js),
        ("page-tool.js", PackageResources.page_tool_js),
        ("page-ledger.js", PackageResources.page_ledger_js),
        ("schedule-builder.js", PackageResources.schedule_builder_js),
        ("page-images.js", PackageResources.page_images_js),
        ("code-editor.js", PackageResources.code_editor_js),
        ("event-editor.js", PackageResources.event_editor_js),
        ("actions-editor.js", PackageResources.actions_editor_js),
    ]
}
