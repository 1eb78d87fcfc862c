#!/usr/bin/env bash
# Runs every test: installs what the tests need (bubblewrap, python3 with pytest, node, curl,
# tzdata, openssh-server, python3-aiosmtpd, openssl, chromium with its driver and selenium; podman, runc and mmdebstrap through scripts/podman.sh) when missing, starts podman's API
# service and builds the runner images, then `swift test`, then the runtime helper libraries' own
# tests. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
[ -x /usr/bin/python3 ] || need+=(python3)
command -v node >/dev/null 2>&1 || need+=(nodejs)
[ -e /usr/share/zoneinfo/Europe/Berlin ] || need+=(tzdata)
command -v curl >/dev/null 2>&1 || need+=(curl)
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || need+=(python3-pytest)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/sbin/ip ] || need+=(iproute2)
# The email tests' SMTP server, and the certificate it is given.
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
[ -x /usr/bin/openssl ] || need+=(openssl)
# The web UI's browser tests: Chromium, its WebDriver, and selenium (Debian's packaging of it).
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
/usr/bin/python3 -c 'import selenium' >/dev/null 2>&1 || need+=(python3-selenium)
if [ ${#need[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The remote-server tests start their own sshd processes (own configuration and keys, on
# loopback) and log in as this account; its password is set by the tests themselves.
if ! id cronium-ssh >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo useradd --create-home --shell /bin/bash cronium-ssh
fi

# The committed .swift-format, checked first: a tree that does not pass it fails in a second.
# `swift format -i -r Sources Tests Benchmarks Package.swift` fixes all but a few rules.
swift format lint --strict -r Sources Tests Benchmarks Package.swift

# Podman's Docker-compatible API on a private socket for the container tests, stopped at the
# end; the runner images are built once and rebuilt only when their inputs change.
export CRONIUM_TEST_CONTAINER_SOCKET
CRONIUM_TEST_CONTAINER_SOCKET=$(scripts/podman.sh start)
trap 'scripts/podman.sh stop' EXIT
swift build --build-tests
.build/debug/cronium images build --container-socket "$CRONIUM_TEST_CONTAINER_SOCKET"

# The release tarball and image (scripts/package.sh --image), for PackagingTests: built for a
# whole run; a filtered run uses the last one built, if any.
if [ $# -eq 0 ]; then scripts/package.sh --image; fi
package=$(ls -d .build/package/cronium-*-linux-"$(uname -m)" 2>/dev/null | tail -1 || true)
if [ -n "$package" ]; then export CRONIUM_TEST_PACKAGE=$PWD/$package; fi

# With arguments (a --filter), only those Swift tests; without, everything, and then the helper
# libraries' own tests inside real runs.
if [ $# -gt 0 ]; then
  swift test "$@"
  exit
fi
swift test 2>&1 | tee /tmp/cronium-swift-test.$$.log
status=${PIPESTATUS[0]}
# The container tests are enabled by the socket above, the browser tests by Chromium, the
# packaging tests by the package: make sure they did run.
for suite in ContainerTests BrowserTests PackagingTests; do
  if ! grep -q "Suite $suite passed" /tmp/cronium-swift-test.$$.log; then
    [ "$status" -ne 0 ] || echo "scripts/test.sh: the $suite suite did not run" >&2
    rm -f /tmp/cronium-swift-test.$$.log
    exit 1
  fi
done
rm -f /tmp/cronium-swift-test.$$.log
[ "$status" -eq 0 ] || exit "$status"
scripts/test-helpers.sh
