#!/bin/sh
# The local AWS emulator for tests. herald-testkit starts one per test process by itself; this
# script only makes sure it is installed, or serves one in the foreground to share between runs:
#   infra/moto.sh install           # pip install 'moto[server]' unless moto_server is on PATH
#   infra/moto.sh serve [PORT]      # then: export HERALD_MOTO_ENDPOINT=http://127.0.0.1:PORT
set -eu
cmd=${1:-install}
if ! command -v moto_server >/dev/null 2>&1; then
    python3 -m pip install --quiet 'moto[server]'
fi
case "$cmd" in
    install) command -v moto_server ;;
    serve)
        # Without moto's leak of DynamoDB objects (see moto_server.py) where python3 has moto.
        if python3 -c 'import moto.server' 2>/dev/null; then
            exec python3 "$(dirname "$0")/moto_server.py" -H 127.0.0.1 -p "${2:-5000}"
        fi
        exec moto_server -H 127.0.0.1 -p "${2:-5000}" ;;
    *) echo "usage: $0 install | serve [PORT]" >&2; exit 2 ;;
esac
