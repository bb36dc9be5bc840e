#!/usr/bin/env bash
# Install everything spbe needs on a fresh Debian/Ubuntu machine (run as root). Idempotent.
#   - Debian packages: Python venv tooling, libmagic, Chromium (browser tests), the lab's packages (sshd, nftables, debootstrap, prometheus...)
#   - a virtualenv with spbe and its test tools, at $SPBE_VENV (default /opt/spbe/venv)
# usage: scripts/setup.sh [--no-lab]
#   --no-lab: what the tests outside the lab need (scripts/test.sh --fast): no debootstrap, nftables,
#             Prometheus or restic; Node.js stays, for the real Express Gateway of the gateway contract suite.
set -euo pipefail
cd "$(dirname "$0")/.."
SPBE_VENV="${SPBE_VENV:-/opt/spbe/venv}"
export DEBIAN_FRONTEND=noninteractive
lab=1
for arg in "$@"; do
    case "$arg" in
        --no-lab) lab="" ;;
        *) echo "usage: $0 [--no-lab]" >&2; exit 2 ;;
    esac
done

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
command -v gcc >/dev/null || need_apt+=(gcc python3-dev)
command -v ssh >/dev/null || need_apt+=(openssh-client)
# python-magic (attachment types read from their content) loads Debian's libmagic.
dpkg-query -W -f='${Status}' libmagic1 2>/dev/null | grep -q "install ok installed" || need_apt+=(libmagic1)
# The browser tests (fast tier, no lab) drive Debian's Chromium through Playwright's executable_path. Never
# `playwright install`: it downloads its own browser builds, which fails without the network.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# Documents (issue 17): WeasyPrint lays out PDFs with Debian's Pango and its fonts; the tests read the PDFs back
# with poppler's pdftotext and render pages with pdftoppm.
dpkg-query -W -f='${Status}' libpangoft2-1.0-0 2>/dev/null | grep -q "install ok installed" || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q "install ok installed" || need_apt+=(fonts-dejavu-core)
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)
# Scale-out (issue 19): the PostgreSQL store and the distributed workers' broker, started on loopback by the tests
# (private clusters and servers of their own; the Debian services are never started).
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v dovecot >/dev/null || need_apt+=(dovecot-imapd)  # the complaints mailbox tests (tests/complaints)
if [ -z "$lab" ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
    need_apt+=(nodejs npm)  # lab_packages.sh installs them otherwise
fi
if ((${#need_apt[@]})); then
    # PostgreSQL, Redis and Dovecot are servers: Debian starts them on install, listening beyond loopback
    # (Dovecot on every address). The tests run private instances on 127.0.0.1, so the system's own are never
    # started: a policy-rc.d that refuses service starts for the length of the install (Docker images ship one).
    policy=/usr/sbin/policy-rc.d
    own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# spbe setup: no service starts while packages install\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        own_policy=1
    fi
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
    if [ -n "$own_policy" ]; then rm -f "$policy"; fi
fi
if [ -n "$lab" ]; then
    bash scripts/lab_packages.sh
    bash scripts/redmine_packages.sh  # Redmine 5 for the service-desk adapter tests (tests/fixtures/redmine.py)
fi

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "spbe needs Python 3.11 or newer")'
if [ ! -x "$SPBE_VENV/bin/python" ]; then
    python3 -m venv "$SPBE_VENV"
fi
"$SPBE_VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
log="$(mktemp)"
if ! "$SPBE_VENV/bin/python" -m pip install -q -e '.[test]' >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
# The lab's Cisco IOS simulators (fake-switches pins an old Twisted, so it is installed without deps).
sh scripts/switch_sim_packages.sh "$SPBE_VENV/bin/python"
"$SPBE_VENV/bin/python" -c 'import toolkit.cli.main' # fail here, not in the demo, if the install is broken
echo "spbe installed in $SPBE_VENV"
