#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite against the real lab peers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SPBE_VENV="${SPBE_VENV:-/opt/spbe/venv}"
export PATH="$SPBE_VENV/bin:$PATH"
set +e
"$SPBE_VENV/bin/python" -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "no tests were collected" >&2
    exit 1
fi
exit "$rc"
