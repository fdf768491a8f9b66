#!/usr/bin/env bash
# Runs every Herald test, as CI does: installs what the tests need (moto from PyPI, Bluesky's
# PDS and PLC from npm, mastodon-mock from PyPI), starts them on 127.0.0.1, runs the whole
# workspace's tests against both storage backends, and stops the services after.
#   infra/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "== $* ($(date +%H:%M:%S))" >&2; }

step "installing the AWS emulator (moto) if missing"
bash infra/moto.sh install >/dev/null

step "starting the Bluesky PDS and mastodon-mock"
env_file=$(mktemp "${TMPDIR:-/tmp}/herald-env.XXXXXX")
export HERALD_WATCH_PID=$$
bash infra/services.sh start "$env_file"
# shellcheck disable=SC1090
source "$env_file"
trap 'kill $HERALD_SERVICE_PIDS 2>/dev/null || true; rm -f "$env_file"' EXIT

step "building and running the tests"
cargo test --workspace --no-fail-fast --features herald-platform/aws "$@"
step "the README walk-through, word for word"
python3 infra/walkthrough.py
step "all tests passed"
