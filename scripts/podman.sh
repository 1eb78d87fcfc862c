#!/usr/bin/env bash
# Podman's Docker-compatible API for the container tests, on a private socket:
#   scripts/podman.sh start   installs podman, runc and mmdebstrap when missing, writes the
#                             container configuration a fresh machine needs, starts the service
#                             and prints the socket's path
#   scripts/podman.sh stop    stops the service this script started
set -euo pipefail

state=/run/cronium-test-podman
socket=$state/podman.sock
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi

start() {
  need=()
  command -v podman >/dev/null 2>&1 || need+=(podman)
  command -v runc >/dev/null 2>&1 || need+=(runc)
  command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
  if [ ${#need[@]} -gt 0 ]; then
    echo "scripts/podman.sh: installing ${need[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  # runc (crun is not installed), and explicit limits within this machine's hard ones: without
  # them podman asks for 1048576 open files, which runc may not set here.
  conf=/etc/containers/containers.conf
  marker="# Written by Cronium's scripts/podman.sh"
  if ! grep -qs '^runtime = "runc"' "$conf" || grep -qs "^$marker" "$conf"; then
    if [ -e "$conf" ] && ! grep -qs "^$marker" "$conf"; then $sudo cp "$conf" "$conf.before-cronium"; fi
    nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
    nproc=$(ulimit -Hu); [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
    $sudo mkdir -p /etc/containers
    $sudo tee "$conf" >/dev/null <<CONF
$marker (a file that was here before: containers.conf.before-cronium).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
CONF
  fi
  $sudo mkdir -p "$state"
  if [ -S "$socket" ] && curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
    echo "$socket"
    return
  fi
  rm -f "$socket"
  # Detached from this shell: it outlives the script until `stop`. Started in its state
  # directory: conmon leaves files (an `oom` marker after a container ran out of memory) in
  # its working directory, which must not be the checkout.
  cd "$state"
  setsid $sudo podman system service --time=0 "unix://$socket" >"$state/service.log" 2>&1 < /dev/null &
  echo $! | $sudo tee "$state/pid" >/dev/null
  for _ in $(seq 1 100); do
    if curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
      echo "$socket"
      return
    fi
    sleep 0.1
  done
  echo "scripts/podman.sh: podman's service did not answer on $socket; its log:" >&2
  cat "$state/service.log" >&2
  exit 1
}

stop() {
  if [ -f "$state/pid" ]; then
    $sudo kill "$(cat "$state/pid")" 2>/dev/null || true
    $sudo rm -f "$state/pid" "$socket"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: scripts/podman.sh start|stop" >&2; exit 64 ;;
esac
