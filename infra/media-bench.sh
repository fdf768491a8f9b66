#!/usr/bin/env bash
# The media benchmark: installs sharp (npm) into infra/media-bench/node_modules (gitignored),
# then runs Herald's image pipeline and sharp side by side on the same eight 12 MP JPEGs and
# prints the table.   infra/media-bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d infra/media-bench/node_modules/sharp ]; then
    (cd infra/media-bench && npm ci --no-audit --no-fund --silent)
fi
exec cargo bench -p herald-app --bench media -- "$@"
