# Cronium's runtime helpers for Bash scripts: read the run's input, set its output and
# condition, read and write your variables, and see which event and run this is. Inside a
# Cronium run these functions are defined with no setup; elsewhere `source` this file and set
# CRONIUM_RUNTIME_URL and CRONIUM_RUNTIME_TOKEN. Needs curl; no jq.
#
# A failed call returns non-zero and prints one line to stderr: "cronium: <the server's message>".

# _cronium_call METHOD PATH [CONTENT_TYPE] — the body, if any, comes on stdin. Prints the
# response body on success.
_cronium_call() {
  local method=$1 path=$2 type=${3:-} base url response status body detail
  local -a where=() data=()
  if [ -z "${CRONIUM_RUNTIME_URL:-}" ] || [ -z "${CRONIUM_RUNTIME_TOKEN:-}" ]; then
    echo "cronium: CRONIUM_RUNTIME_URL and CRONIUM_RUNTIME_TOKEN are not set: the helpers work inside a Cronium run" >&2
    return 2
  fi
  if ! command -v curl >/dev/null 2>&1; then
    echo "cronium: the Bash helpers need curl, which is not installed here" >&2
    return 2
  fi
  case $CRONIUM_RUNTIME_URL in
    unix:*) where=(--unix-socket "${CRONIUM_RUNTIME_URL#unix:}"); base="http://cronium" ;;
    http://* | https://*) base=${CRONIUM_RUNTIME_URL%/} ;;
    *) echo "cronium: CRONIUM_RUNTIME_URL must start with unix:, http:// or https://, not '$CRONIUM_RUNTIME_URL'" >&2; return 2 ;;
  esac
  url=$base$path
  [ -n "$type" ] && data=(-H "Content-Type: $type" --data-binary @-)
  # curl retries what is transient (refused connections, timeouts, 429 after its Retry-After, 5xx).
  # The body goes to a file, which curl empties before each retry: on standard output the
  # bodies of refused tries would come before the answer.
  local out
  out=$(mktemp "${TMPDIR:-/tmp}/cronium.XXXXXX") || { echo "cronium: cannot make a temporary file" >&2; return 2; }
  response=$(curl -sS -X "$method" "${where[@]}" --max-time "${CRONIUM_RUNTIME_TIMEOUT:-30}" \
    --retry 5 --retry-connrefused --retry-delay 0 --retry-max-time "${CRONIUM_RUNTIME_TIMEOUT:-30}" \
    -H "Authorization: Bearer $CRONIUM_RUNTIME_TOKEN" -H "Accept: text/plain, application/json" \
    "${data[@]}" -o "$out" -w '%{http_code}' "$url" 2>&1) || {
    rm -f "$out"
    response=${response##*curl: }
    echo "cronium: cannot reach Cronium's runtime API at $CRONIUM_RUNTIME_URL: ${response%000}" >&2
    return 3
  }
  status=${response: -3}
  # Read whole, trailing line breaks too (the x keeps $(...) from dropping them).
  body=$(cat "$out"; printf x)
  body=${body%x}
  rm -f "$out"
  if [ "$status" -ge 200 ] && [ "$status" -lt 300 ]; then
    [ -n "$body" ] && printf '%s\n' "$body"
    return 0
  fi
  detail=$(printf '%s' "$body" | sed -n 's/.*"detail":"\(\([^"\\]\|\\.\)*\)".*/\1/p')
  echo "cronium: ${detail:-HTTP $status}" >&2
  [ "$status" = 404 ] && return 4
  return 1
}

# _cronium_key KEY — the key, checked, for a URL path (keys are A-Z, 0-9 and _ only).
_cronium_key() {
  if [[ ! ${1:-} =~ ^[A-Za-z0-9_]+$ ]]; then
    echo "cronium: '${1:-}' is not a variable key: use A-Z, 0-9 and _" >&2
    return 1
  fi
}

# Prints the run's input as JSON (null when it was started without one).
cronium_input() { _cronium_call GET /runtime/v1/input; }

# cronium_output JSON — sets the run's output; what runs next gets it as its input.
cronium_output() {
  if [ $# -ne 1 ]; then echo "cronium: usage: cronium_output '<json>'" >&2; return 1; fi
  printf '%s' "$1" | _cronium_call POST /runtime/v1/output application/json >/dev/null
}

# cronium_get_variable KEY — prints the value; returns 4 (and prints nothing) when there is none.
cronium_get_variable() {
  _cronium_key "${1:-}" || return 1
  local value
  value=$(_cronium_call GET "/runtime/v1/variables/$1" 2>&1) || {
    local status=$?
    [ $status = 4 ] || printf '%s\n' "$value" >&2
    return $status
  }
  printf '%s\n' "$value"
}

# cronium_set_variable KEY VALUE — stores VALUE (any text) as your variable KEY.
cronium_set_variable() {
  if [ $# -ne 2 ]; then echo "cronium: usage: cronium_set_variable KEY VALUE" >&2; return 1; fi
  _cronium_key "$1" || return 1
  printf '%s' "$2" | _cronium_call PUT "/runtime/v1/variables/$1" text/plain >/dev/null
}

# cronium_delete_variable KEY — removes your variable KEY (nothing happens when there is none).
cronium_delete_variable() {
  _cronium_key "${1:-}" || return 1
  _cronium_call DELETE "/runtime/v1/variables/$1" >/dev/null
}

# cronium_set_condition true|false — decides the run's condition for its ON_CONDITION actions.
cronium_set_condition() {
  case ${1:-} in
    true | false) printf '%s' "$1" | _cronium_call POST /runtime/v1/condition application/json >/dev/null ;;
    *) echo "cronium: usage: cronium_set_condition true|false" >&2; return 1 ;;
  esac
}

# Prints this run and its event as JSON.
cronium_event() { _cronium_call GET /runtime/v1/context; }

# _cronium_json_string TEXT — TEXT as a JSON string (no jq needed).
_cronium_json_string() {
  local s=$1 code char
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  for code in 1 2 3 4 5 6 7 8 11 12 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31; do
    printf -v char "\\$(printf '%03o' "$code")"
    [[ $s == *"$char"* ]] && s=${s//"$char"/$(printf '\\u%04x' "$code")}
  done
  printf '"%s"' "$s"
}

# cronium_send_message TOOL MESSAGE [SUBJECT] — sends through your tool TOOL; prints the far end's
# answer as JSON; returns non-zero (the far end's words on stderr) when it was not taken.
cronium_send_message() {
  if [ $# -lt 2 ] || [ $# -gt 3 ]; then echo "cronium: usage: cronium_send_message TOOL MESSAGE [SUBJECT]" >&2; return 1; fi
  local body="{\"tool\":$(_cronium_json_string "$1"),\"message\":$(_cronium_json_string "$2")"
  [ $# -eq 3 ] && body+=",\"subject\":$(_cronium_json_string "$3")"
  printf '%s}' "$body" | _cronium_call POST /runtime/v1/messages application/json
}

# _cronium_send_type TYPE TEXT [TOOL] — through your one tool of TYPE (or TOOL, of that type).
_cronium_send_type() {
  local body="{\"type\":\"$1\",\"message\":$(_cronium_json_string "$2")"
  [ -n "${3:-}" ] && body+=",\"tool\":$(_cronium_json_string "$3")"
  printf '%s}' "$body" | _cronium_call POST /runtime/v1/messages application/json
}

# cronium_send_slack_message TEXT [TOOL], cronium_send_discord_message TEXT [TOOL],
# cronium_send_teams_message TEXT [TOOL]
cronium_send_slack_message() { [ $# -ge 1 ] || { echo "cronium: usage: cronium_send_slack_message TEXT [TOOL]" >&2; return 1; }; _cronium_send_type SLACK "$@"; }
cronium_send_discord_message() { [ $# -ge 1 ] || { echo "cronium: usage: cronium_send_discord_message TEXT [TOOL]" >&2; return 1; }; _cronium_send_type DISCORD "$@"; }
cronium_send_teams_message() { [ $# -ge 1 ] || { echo "cronium: usage: cronium_send_teams_message TEXT [TOOL]" >&2; return 1; }; _cronium_send_type TEAMS "$@"; }

# cronium_send_email TO SUBJECT BODY [TOOL [HTML]] — emails BODY to TO (addresses separated by
# commas) through your email tool (TOOL names it when you have several; "" for the only one).
cronium_send_email() {
  if [ $# -lt 3 ] || [ $# -gt 5 ]; then echo "cronium: usage: cronium_send_email TO SUBJECT BODY [TOOL [HTML]]" >&2; return 1; fi
  local to="" address
  local -a addresses
  IFS=',' read -r -a addresses <<<"$1"
  for address in "${addresses[@]}"; do
    address="${address#"${address%%[![:space:]]*}"}"
    address="${address%"${address##*[![:space:]]}"}"
    [ -n "$address" ] && to+="${to:+,}$(_cronium_json_string "$address")"
  done
  local body="{\"type\":\"EMAIL\",\"to\":[$to],\"subject\":$(_cronium_json_string "$2"),\"message\":$(_cronium_json_string "$3")"
  [ -n "${4:-}" ] && body+=",\"tool\":$(_cronium_json_string "$4")"
  [ -n "${5:-}" ] && body+=",\"html\":$(_cronium_json_string "$5")"
  printf '%s}' "$body" | _cronium_call POST /runtime/v1/messages application/json
}

# cronium_execute_tool_action TOOL ACTION '<json params>' — the predecessor's form: ACTION send,
# params {"message", "subject"}, and for email "to" and "html".
cronium_execute_tool_action() {
  if [ $# -ne 3 ]; then echo "cronium: usage: cronium_execute_tool_action TOOL ACTION '<json params>'" >&2; return 1; fi
  printf '{"tool":%s,"action":%s,"params":%s}' "$(_cronium_json_string "$1")" "$(_cronium_json_string "$2")" "$3" \
    | _cronium_call POST /runtime/v1/messages application/json
}

# The predecessor's spellings, so its scripts run unchanged.
cronium_getVariable() { cronium_get_variable "$@"; }
cronium_setVariable() { cronium_set_variable "$@"; }
cronium_deleteVariable() { cronium_delete_variable "$@"; }
cronium_setCondition() { cronium_set_condition "$@"; }
