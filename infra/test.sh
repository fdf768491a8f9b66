#!/usr/bin/env bash
# Runs every Herald test, as CI does: installs what the tests need (moto from PyPI, Bluesky's
# PDS and PLC from npm, mastodon-mock from PyPI, cfn-lint, aws-sam-cli in .venv/sam; Debian's
# chromium with playwright-core and axe-core from npm for the web app's tests), checks
# template.yaml with cfn-lint and `sam validate --lint` (offline), builds the Lambda
# functions' release binaries (what `sam build` makes) for the cloud-path test, starts
# the services on 127.0.0.1, runs the whole workspace's tests against both storage backends,
# and stops the services after.
#   infra/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "== $* ($(date +%H:%M:%S))" >&2; }

step "installing the Debian packages the build and tests need (cmake, nasm, ffmpeg) if missing"
bash infra/apt.sh

step "installing the AWS emulator (moto) if missing"
bash infra/moto.sh install >/dev/null

step "installing the ICS checker (PyPI icalendar) if missing"
python3 -c "import icalendar" 2>/dev/null || python3 -m pip install --quiet icalendar

step "installing the Standard Webhooks reference library (PyPI standardwebhooks) if missing"
python3 -c "import standardwebhooks" 2>/dev/null || python3 -m pip install --quiet standardwebhooks

step "installing schemathesis (PyPI) if missing"
python3 -c "import schemathesis" 2>/dev/null || python3 -m pip install --quiet schemathesis

step "linting template.yaml (cfn-lint)"
command -v cfn-lint >/dev/null 2>&1 || python3 -m pip install --quiet cfn-lint
cfn-lint template.yaml

# SAM CLI pins its own boto3 and friends: a venv of its own keeps them off moto's.
step "validating template.yaml (sam validate --lint, offline) after installing aws-sam-cli if missing"
sam_venv=.venv/sam
if [ ! -x "$sam_venv/bin/sam" ]; then
    python3 -m venv "$sam_venv"
    "$sam_venv/bin/python" -m pip install --quiet aws-sam-cli
fi
# A region and dummy credentials: validation reads neither AWS nor a profile.
env -u AWS_PROFILE AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    SAM_CLI_TELEMETRY=0 "$sam_venv/bin/sam" validate --lint --template template.yaml

# Before the tests, not from them: a cargo run inside `cargo test` would wait on the same
# target dir. The cloud-path test (herald-testkit, tests/cloud_path) runs these binaries.
# The release build (mostly its link-time optimisation) runs while the services install and
# start, which mostly waits on npm and the network.
step "building the Lambda functions as deployed (release), meanwhile starting the services"
release_log=$(mktemp "${TMPDIR:-/tmp}/herald-release.XXXXXX")
# As deployed: aws-lc without its jitter entropy source, which costs 10-50 ms of the first
# randomness at every cold start (README, "Deploying").
AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo build --release -p herald-intake -p herald-publisher -p herald-transcoder \
    -p herald-aggregator -p herald-relay -p herald-webhooks >"$release_log" 2>&1 &
release_pid=$!
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
export HERALD_LAMBDA_BIN_DIR="$target_dir/release"

env_file=$(mktemp "${TMPDIR:-/tmp}/herald-env.XXXXXX")
export HERALD_WATCH_PID=$$
trap 'kill $release_pid 2>/dev/null || true; kill ${HERALD_SERVICE_PIDS:-} 2>/dev/null || true; rm -f "$env_file" "$release_log"' EXIT
bash infra/services.sh start "$env_file"
# shellcheck disable=SC1090
source "$env_file"
if ! wait "$release_pid"; then
    cat "$release_log" >&2
    echo "the release build failed" >&2
    exit 1
fi
step "release binaries built: $(tail -1 "$release_log")"

step "building and running the tests"
cargo test --workspace --no-fail-fast "$@"
step "schemathesis against herald serve, with a workspace key (the OpenAPI contract)"
bash infra/schemathesis.sh "$target_dir/debug/herald"
step "the web app in headless Chromium against herald serve (screenshots in target/web-e2e/)"
bash infra/web-e2e.sh "$target_dir/debug/herald"
step "the README walk-through, word for word"
python3 infra/walkthrough.py
step "all tests passed"
