#!/bin/sh
# Install the lab's Cisco IOS switch simulator (fake-switches) into one virtualenv.
#   usage: scripts/switch_sim_packages.sh /path/to/venv/bin/python
# fake-switches 1.5.0 declares Twisted[conch]<17, which does not build on Python 3.11; its code runs on a
# current Twisted, so it is installed without its declared dependencies and those are installed here with
# ranges checked on 3.11 (Twisted 26.x, netaddr 1.x, lxml 6.x, tftpy 0.8.x). That is why it is not a
# normal dependency in pyproject.toml. Idempotent and quiet: does nothing when the import already works.
set -eu

python="${1:?usage: $0 /path/to/venv/bin/python}"
[ -x "$python" ] || { echo "switch_sim_packages.sh: $python is not an executable python" >&2; exit 1; }

check='import importlib.metadata as m, fake_switches.cisco.cisco_core, twisted.conch.ssh.factory, netaddr, lxml, tftpy
assert m.version("fake-switches") == "1.5.0"'
"$python" -c "$check" >/dev/null 2>&1 && exit 0

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$python" -m pip install -q 'Twisted[conch]>=24.7,<27' 'netaddr>=1.0,<2' 'lxml>=5.0,<7' \
        'tftpy>=0.8.2,<0.9' >"$log" 2>&1 \
    || ! "$python" -m pip install -q --no-deps 'fake-switches==1.5.0' >>"$log" 2>&1 \
    || ! "$python" -c "$check" >>"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi
