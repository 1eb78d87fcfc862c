#!/usr/bin/env bash
# The Bash helpers against the real runtime API: run inside a Cronium run by
# scripts/test-helpers.sh (input {"case": "helpers"}, a low runtime rate limit).
set -u
# The helpers as a run gets them: BASH_ENV has defined a stand-in for each, and the first call
# loads the library.
stand_ins=$(declare -F | grep -c ' cronium_')
failures=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}

check "input" '{"case":"helpers"}' "$(cronium_input)"
check "event" '"eventName":"bash helper tests"' "$(cronium_event | grep -o '"eventName":"[^"]*"')"
cronium_output '{"language": "bash"}'; check "output" 0 $?
check "a stand-in for every helper" "$(declare -F | grep -c ' cronium_')" "$stand_ins"
check "the library's own functions" "$(grep -c '^cronium_[a-zA-Z_]*()' "$(dirname "$0")/cronium.sh")" "$stand_ins"
cronium_set_condition true; check "condition" 0 $?
cronium_setCondition false; check "condition, old spelling" 0 $?
check "condition refused" "cronium: usage: cronium_set_condition true|false" "$(cronium_set_condition yes 2>&1)"

value='a "quoted" $dollar \back\slash @/etc/passwd ✓'
cronium_set_variable BASH_HELPER_TEXT "$value"; check "set" 0 $?
check "get" "$value" "$(cronium_get_variable BASH_HELPER_TEXT)"
cronium_setVariable BASH_HELPER_TEXT "two"; check "get, old spelling" "two" "$(cronium_getVariable BASH_HELPER_TEXT)"
cronium_delete_variable BASH_HELPER_TEXT; check "delete" 0 $?
out=$(cronium_get_variable BASH_HELPER_TEXT 2>&1); status=$?
check "missing: status 4" 4 "$status"
check "missing: prints nothing" "" "$out"
check "a secret" "s3cret-for-helper-tests" "$(cronium_get_variable HELPER_TEST_SECRET)"
check "a bad key" "cronium: 'lower case' is not a variable key: use A-Z, 0-9 and _" "$(cronium_set_variable 'lower case' x 2>&1)"
check "a key the server refuses" "cronium: 'lower' is not a key: use capital letters, digits and _, not starting with a digit (like DB_PASSWORD)" "$(cronium_set_variable lower x 2>&1)"
check "bad json" 1 "$(cronium_output '{not json' 2>/dev/null; echo $?)"
check "a wrong token" "cronium: the runtime token is not valid, or it has expired" "$(CRONIUM_RUNTIME_TOKEN=nope cronium_input 2>&1)"
check "no settings" 2 "$(CRONIUM_RUNTIME_URL= cronium_input 2>/dev/null; echo $?)"
started=$SECONDS
out=$(CRONIUM_RUNTIME_URL=unix:/tmp/no-such-cronium.sock CRONIUM_RUNTIME_TIMEOUT=1 cronium_event 2>&1); status=$?
check "unreachable: status 3" 3 "$status"
check "unreachable: says so" "cronium: cannot reach Cronium's runtime API" "${out%% at *}"
# The run's limit is 20 calls a second, 40 at once: 80 calls meet it, and curl waits and goes on.
for number in $(seq 0 79); do cronium_set_variable BASH_HELPER_COUNT "$number" || failures=$((failures + 1)); done
check "over the rate limit" 79 "$(cronium_get_variable BASH_HELPER_COUNT)"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
