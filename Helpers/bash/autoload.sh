# What BASH_ENV loads at the start of every Bash script in a Cronium run: a stand-in for each
# helper, which loads the helpers (cronium.sh, beside this file) on first use. Parsing the whole
# library took about 0.45 ms at every start of bash, also in the many scripts that call no helper;
# these lines take about 0.1 ms. Helpers/bash/test.sh checks that every helper has its stand-in.
_cronium_load() { . "${BASH_SOURCE[0]%/*}/cronium.sh"; }
cronium_input() { _cronium_load && cronium_input "$@"; }
cronium_output() { _cronium_load && cronium_output "$@"; }
cronium_get_variable() { _cronium_load && cronium_get_variable "$@"; }
cronium_set_variable() { _cronium_load && cronium_set_variable "$@"; }
cronium_delete_variable() { _cronium_load && cronium_delete_variable "$@"; }
cronium_set_condition() { _cronium_load && cronium_set_condition "$@"; }
cronium_event() { _cronium_load && cronium_event "$@"; }
cronium_send_message() { _cronium_load && cronium_send_message "$@"; }
cronium_send_slack_message() { _cronium_load && cronium_send_slack_message "$@"; }
cronium_send_discord_message() { _cronium_load && cronium_send_discord_message "$@"; }
cronium_send_teams_message() { _cronium_load && cronium_send_teams_message "$@"; }
cronium_send_email() { _cronium_load && cronium_send_email "$@"; }
cronium_execute_tool_action() { _cronium_load && cronium_execute_tool_action "$@"; }
cronium_getVariable() { _cronium_load && cronium_getVariable "$@"; }
cronium_setVariable() { _cronium_load && cronium_setVariable "$@"; }
cronium_deleteVariable() { _cronium_load && cronium_deleteVariable "$@"; }
cronium_setCondition() { _cronium_load && cronium_setCondition "$@"; }
