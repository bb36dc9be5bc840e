#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the test suite.
#   bash scripts/test.sh [PYTEST ARGS]          the whole suite against the real lab peers (what .ci/run runs)
#   bash scripts/test.sh --fast [PYTEST ARGS]   everything that needs no lab (-m "not lab"), on two workers
#                                               ($SPBE_TEST_WORKERS): no debootstrap, no namespaced hosts;
#                                               the setup skips the lab's packages
set -euo pipefail
cd "$(dirname "$0")/.."
fast=""
args=()
for arg in "$@"; do
    if [ "$arg" = "--fast" ]; then
        fast=1
    else
        args+=("$arg")
    fi
done
select=()
if [ -n "$fast" ]; then
    bash scripts/setup.sh --no-lab
    # Two pytest workers (pytest-xdist): much of this tier waits on subprocesses and SQLite locks.
    select=(-m "not lab" -n "${SPBE_TEST_WORKERS:-2}")
else
    bash scripts/setup.sh
fi
SPBE_VENV="${SPBE_VENV:-/opt/spbe/venv}"
export PATH="$SPBE_VENV/bin:$PATH"
set +e
"$SPBE_VENV/bin/python" -m pytest -p no:cacheprovider "${select[@]}" "${args[@]}"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "no tests were collected" >&2
    exit 1
fi
exit "$rc"
