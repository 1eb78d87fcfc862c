#!/usr/bin/env bash
# Runs every test: installs what the tests need (bubblewrap, python3 with pytest, node, curl,
# tzdata) when missing, then `swift test`, then the runtime helper libraries' own tests. This is
# the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
[ -x /usr/bin/python3 ] || need+=(python3)
command -v node >/dev/null 2>&1 || need+=(nodejs)
[ -e /usr/share/zoneinfo/Europe/Berlin ] || need+=(tzdata)
command -v curl >/dev/null 2>&1 || need+=(curl)
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || need+=(python3-pytest)
if [ ${#need[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# With arguments (a --filter), only those Swift tests; without, everything, and then the helper
# libraries' own tests inside real runs.
if [ $# -gt 0 ]; then exec swift test "$@"; fi
swift test
exec scripts/test-helpers.sh
