#!/usr/bin/env bash
# Schemathesis (PyPI) against a running `herald serve` with a workspace key: every operation of
# /openapi.json fuzzed; no answer may be a 5xx, and every answer must match the document
# (status, content type, body schema).
#   infra/schemathesis.sh PATH/TO/herald [extra schemathesis args]
set -euo pipefail
herald=$1
shift
python3 -c "import schemathesis" 2>/dev/null || python3 -m pip install --quiet schemathesis

dir=$(mktemp -d "${TMPDIR:-/tmp}/herald-schemathesis.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin="schemathesis-admin-key"
# No allowance: the run is about every operation's logic (429 has its own test).
HERALD_RATE_LIMIT_PER_SECOND=0 HERALD_RATE_LIMIT_PER_MINUTE=0 \
    HERALD_ADMIN_KEY=$admin "$herald" serve --data "$dir/data" --addr "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
    curl -sf "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
key=$(curl -sf -X POST "$base/v1/workspaces" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' -d '{"name":"Schemathesis"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
# Something to find: an account and a post.
acct=$(curl -sf -X POST "$base/v1/accounts" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d '{"platform":"sandbox","handle":"fuzz"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
post=$(curl -sf -X POST "$base/v1/posts" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"text\":\"fuzzed\",\"accounts\":[\"$acct\"]}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Half the ids schemathesis sends are these, so generated bodies reach the use cases behind
# the 404 of an unknown id: a post to edit, schedule, publish and cancel, an account to post to.
cat >"$dir/schemathesis.toml" <<TOML
[dictionaries.accounts]
values = ["$acct"]

[dictionaries.posts]
values = ["$post"]

[parameters]
"path.account" = { dictionary = "accounts", probability = 0.5 }
"query.account" = { dictionary = "accounts", probability = 0.5 }
"body.accounts[*]" = { dictionary = "accounts", probability = 0.5 }

[[operations]]
include-path-regex = "^/v1/posts/[{]id[}]"
parameters = { "path.id" = { dictionary = "posts", probability = 0.5 } }

[[operations]]
include-path-regex = "^/v1/accounts/[{]id[}]"
parameters = { "path.id" = { dictionary = "accounts", probability = 0.5 } }
TOML

# From the temp dir: schemathesis keeps its cache where it runs.
(cd "$dir" && schemathesis --config-file "$dir/schemathesis.toml" run "$base/openapi.json" \
    -H "Authorization: Bearer $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${HERALD_SCHEMATHESIS_EXAMPLES:-25}" \
    --request-timeout 20 \
    "$@") || { echo "schemathesis failed; the server's log:" >&2; tail -50 "$dir/serve.log" >&2; exit 1; }
