#!/usr/bin/env bash
# The web app's end-to-end tests: Debian's chromium (installed if missing), playwright-core and
# axe-core from the committed lock file (npm ci on first use), against a real `herald serve`
# that the test starts on 127.0.0.1. Screenshots land in target/web-e2e/.
#   infra/web-e2e.sh [PATH/TO/herald]          (default: target/debug/herald)
#   infra/web-e2e.sh --first-paint [PATH]      prints first-contentful-paint instead
set -euo pipefail
cd "$(dirname "$0")/.."
mode=test
if [ "${1:-}" = "--first-paint" ]; then mode=paint; shift; fi
herald=$(realpath "${1:-target/debug/herald}")
# The emoji font only makes the screenshots show emoji (posts have them) instead of boxes.
missing=()
[ -x "${HERALD_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
dir=functions/intake/e2e
if [ ! -d "$dir/node_modules/playwright-core" ] || [ ! -d "$dir/node_modules/axe-core" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
export HERALD_BIN=$herald
if [ "$mode" = paint ]; then
    exec node "$dir/first-paint.mjs"
fi
exec node --test --test-concurrency=1 "$dir/web.test.mjs"
