#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the test suite.
#   bash scripts/test.sh [PYTEST ARGS]          the whole suite against the real lab peers (what .ci/run runs):
#                                               the tier without the lab on two workers, beside the lab tier
#   bash scripts/test.sh --fast [PYTEST ARGS]   the fast tier: what needs no lab and is not marked slow
#                                               (-m "not lab and not slow": no debootstrap, no namespaced hosts,
#                                               no spbe serve processes, browser, mypy or ansible-lint), on four
#                                               workers ($SPBE_TEST_WORKERS); the setup skips the lab's packages
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
SPBE_VENV="${SPBE_VENV:-/opt/spbe/venv}"
export PATH="$SPBE_VENV/bin:$PATH"
# Under PYTHONDONTWRITEBYTECODE every pytest worker and subprocess compiled the project again and pytest rewrote
# its plugins' and tests' asserts again (15 CPU-s of collection a worker): bytecode goes to a cache of this
# user's outside the tree instead (tests/conftest.py does the same for a bare pytest, from the test modules on).
if [ -n "${PYTHONDONTWRITEBYTECODE:-}" ] && [ -z "${PYTHONPYCACHEPREFIX:-}" ]; then
    pycache="${TMPDIR:-/tmp}/spbe-test-pycache-$(id -u)"
    mkdir -p -m 700 "$pycache"
    if [ -d "$pycache" ] && [ ! -L "$pycache" ] && [ -O "$pycache" ]; then
        export PYTHONPYCACHEPREFIX="$pycache"
        unset PYTHONDONTWRITEBYTECODE
    fi
fi
workers="${SPBE_TEST_WORKERS:-2}"
# The fast tier mostly waits (HTTP servers on loopback, SQLite locks, subprocesses): four workers on two cores.
fast_workers="${SPBE_TEST_WORKERS:-4}"
# Two pytest workers (pytest-xdist) for everything that needs no lab: much of it waits on subprocesses and
# SQLite locks. The lab tier's workers each start their labs (namespaces, sshd, switch simulators, gateway)
# once per session.
run() {
    set +e
    "$SPBE_VENV/bin/python" -m pytest -p no:cacheprovider "$@"
    local rc=$?
    set -e
    return "$rc"
}
if [ -n "$fast" ]; then
    bash scripts/setup.sh --no-lab
    rc=0; run -m "not lab and not slow" -n "$fast_workers" "${args[@]}" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "no tests were collected" >&2
        exit 1
    fi
    exit "$rc"
fi
bash scripts/setup.sh
# The two tiers run side by side: the lab tier mostly waits on SSH, Ansible and the simulators, the other
# tier mostly computes, so together they finish well before one after the other. The tier without the lab
# writes to a file shown when it ends, so the two outputs do not interleave.
scratch="$(mktemp -d)"  # each tier its own pytest base directory: neither cleans up the other's
fast_log="$scratch/not-lab.log"
trap 'rm -rf "$scratch"' EXIT
( fast_rc=0; run -m "not lab" -n "$workers" --basetemp "$scratch/not-lab" "${args[@]}" > "$fast_log" 2>&1 \
    || fast_rc=$?; exit "$fast_rc" ) &
fast_pid=$!
# The lab tier mostly waits (SSH, playbooks, VPN and traffic checks: alone it used 0.69 of a core): four workers
# ($SPBE_TEST_LAB_WORKERS), each with labs of its own (tests/fixtures/lab.py names them apart); a module stays on
# one worker (--dist loadfile), with its module-scoped lab. Four took the tier from 15.1 to 9.2 minutes beside
# the other tier. SPBE_TEST_LAB_WORKERS=1 runs it in one process.
lab_workers="${SPBE_TEST_LAB_WORKERS:-4}"
lab_xdist=()
[ "$lab_workers" -gt 1 ] && lab_xdist=(-n "$lab_workers" --dist loadfile)
lab_rc=0; run -m lab "${lab_xdist[@]}" --basetemp "$scratch/lab" "${args[@]}" || lab_rc=$?
fast_rc=0; wait "$fast_pid" || fast_rc=$?
echo "== the tier without the lab (-m 'not lab', $workers workers):"
cat "$fast_log"
if [ "$fast_rc" -eq 5 ] && [ "$lab_rc" -eq 5 ]; then
    echo "no tests were collected" >&2
    exit 1
fi
[ "$fast_rc" -eq 5 ] && fast_rc=0
[ "$lab_rc" -eq 5 ] && lab_rc=0
[ "$fast_rc" -ne 0 ] && exit "$fast_rc"
exit "$lab_rc"
