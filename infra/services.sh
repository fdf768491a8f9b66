#!/usr/bin/env bash
# Real services for Herald's tests, on 127.0.0.1 only:
#   - Bluesky's reference PDS with an in-memory PLC directory (infra/pds),
#   - mastodon-mock (PyPI), a Mastodon API implementation written by others.
#
# Usage:
#   infra/services.sh start [EXPORTS_FILE]   install what is missing, start both, wait until
#                                             they answer, write `export ...` lines to the file
#                                             (or stdout): HERALD_PDS_URL, HERALD_PLC_URL,
#                                             HERALD_MASTODON_URL, HERALD_SERVICE_PIDS
#   infra/services.sh stop                    stop the pids in $HERALD_SERVICE_PIDS
#
# The services stop by themselves when the process $HERALD_WATCH_PID (default: the shell that
# called this script) exits, so a crashed test run leaves nothing behind; the caller may also
# `kill $HERALD_SERVICE_PIDS` on exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
watch="${HERALD_WATCH_PID:-$PPID}"
logs="${HERALD_SERVICE_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/herald-services.XXXXXX")}"
MASTODON_MOCK_VERSION="0.6.1"

say() { echo "services: $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install() {
  # The PDS: npm ci from the committed lock file. package.json's allowScripts lets
  # better-sqlite3 compile its native module (npm 11 skips unapproved install scripts).
  if ! (cd "$here/pds" && node -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null); then
    say "installing the PDS (npm ci)"
    (cd "$here/pds" && npm ci --no-audit --no-fund --loglevel=error >"$logs/npm.log" 2>&1) || {
      cat "$logs/npm.log" >&2
      exit 1
    }
    if ! (cd "$here/pds" && node -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null); then
      (cd "$here/pds" && npm rebuild better-sqlite3 >>"$logs/npm.log" 2>&1)
    fi
  fi
  if ! command -v mastodon_mock >/dev/null 2>&1; then
    say "installing mastodon-mock $MASTODON_MOCK_VERSION (pip)"
    python3 -m pip install --quiet "mastodon-mock==$MASTODON_MOCK_VERSION" >"$logs/pip.log" 2>&1 || {
      cat "$logs/pip.log" >&2
      exit 1
    }
  fi
}

# Kills $1 when the watched process or $1 itself is gone.
tie_to_watch() {
  local pid="$1"
  (
    trap '' HUP
    while kill -0 "$watch" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1; done
    kill "$pid" 2>/dev/null || true
  ) </dev/null >/dev/null 2>&1 &
}

# Waits up to $2 seconds until the command $1 succeeds, or process $3 dies.
wait_for() {
  local check="$1" seconds="$2" pid="$3" name="$4"
  local deadline=$((SECONDS + seconds))
  until eval "$check" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "$name exited before it was ready; its log:"
      cat "$logs/$name.log" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      say "$name not ready after ${seconds}s; its log:"
      cat "$logs/$name.log" >&2
      kill "$pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
}

start() {
  local out="${1:-/dev/stdout}"
  local t0=$SECONDS
  install
  local t1=$SECONDS

  local pds_port plc_port masto_port
  pds_port="$(free_port)"
  plc_port="$(free_port)"
  masto_port="$(free_port)"

  HERALD_WATCH_PID="$watch" nohup node "$here/pds/start.mjs" "$pds_port" "$plc_port" \
    </dev/null >"$logs/pds.log" 2>&1 &
  local pds_pid=$!

  nohup mastodon_mock serve --config "$here/mastodon/masto.toml" --host 127.0.0.1 \
    --port "$masto_port" --in-memory --demo --log-level warning \
    </dev/null >"$logs/mastodon.log" 2>&1 &
  local masto_pid=$!
  tie_to_watch "$masto_pid"

  wait_for "grep -q HERALD_PDS_READY '$logs/pds.log'" 90 "$pds_pid" pds
  wait_for "curl -sf http://127.0.0.1:$masto_port/api/v1/instance" 60 "$masto_pid" mastodon
  local t2=$SECONDS

  cat >"$out" <<VARS
export HERALD_PDS_URL=http://127.0.0.1:$pds_port
export HERALD_PLC_URL=http://127.0.0.1:$plc_port
export HERALD_MASTODON_URL=http://127.0.0.1:$masto_port
export HERALD_SERVICE_PIDS="$pds_pid $masto_pid"
export HERALD_SERVICE_LOGS=$logs
VARS
  say "install/check $((t1 - t0))s, start $((t2 - t1))s; PDS :$pds_port (pid $pds_pid), mastodon-mock :$masto_port (pid $masto_pid); logs in $logs"
}

stop() {
  for pid in ${HERALD_SERVICE_PIDS:-}; do
    kill "$pid" 2>/dev/null || true
  done
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop ;;
  *)
    echo "usage: $0 start [EXPORTS_FILE] | stop" >&2
    exit 2
    ;;
esac
