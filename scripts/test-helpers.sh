#!/usr/bin/env bash
# Runs the runtime helper libraries' own tests (pytest, node --test, a Bash script) where they
# are meant to run: inside real Cronium runs, in the sandbox, against a real server started here
# (the built `cronium`, its own data directory, a free port), stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bin=${CRONIUM_BIN:-$(swift build --show-bin-path)/cronium}
[ -x "$bin" ] || { echo "scripts/test-helpers.sh: no $bin; build first (swift build)" >&2; exit 1; }

work=$(mktemp -d /tmp/cronium-helper-tests.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A low runtime rate limit: the tests check that calls over it wait and go on.
"$bin" serve --port 0 --data-dir "$work/data" --runtime-rate-limit 20 > "$work/serve.log" 2>&1 &
pid=$!
url=""
for _ in $(seq 200); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$work/serve.log" | cut -d' ' -f3 || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { echo "the server did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
export CRONIUM_URL=$url CRONIUM_TOKEN
CRONIUM_TOKEN=$(cat "$work/data/initial-admin-token")
export XDG_CONFIG_HOME=$work/config
printf 's3cret-for-helper-tests' | "$bin" variable set HELPER_TEST_SECRET --value-stdin --secret > /dev/null

failed=()
# run NAME COMMAND: the command runs as an event's script, with the repository's Helpers read-only.
run() {
  local id
  id=$("$bin" event create -q --name "$1" --type bash --read-only-path "$repo/Helpers" --timeout 2m --script "$2")
  echo "== $1"
  "$bin" event run "$id" --wait --input '{"case": "helpers"}' || failed+=("$1")
}
run "python helper tests" "cd /tmp && /usr/bin/python3 -m pytest -q -p no:cacheprovider $repo/Helpers/python/tests"
run "node helper tests" "node --test $repo/Helpers/node/test/"
run "bash helper tests" "bash $repo/Helpers/bash/test.sh"

if [ ${#failed[@]} -gt 0 ]; then
  echo "helper tests failed: ${failed[*]}" >&2
  exit 1
fi
echo "helper tests passed (python, node, bash)"
