#!/bin/sh
# Install what the spbe lab needs on a fresh Debian 12 machine: debootstrap builds the targets' base
# system; the rest runs on the control node (sshd client side, namespaces, firewall tooling, Prometheus).
# Idempotent and quiet: does nothing when everything is already installed.
set -eu

# The targets' sshd and node_exporter come from their own root filesystem, so the control node
# needs only the clients, promtool and the Prometheus server the lab starts on loopback.
PACKAGES="debootstrap openssh-client nftables iproute2 util-linux prometheus restic iputils-ping \
debian-archive-keyring"
# The lab's API gateway (Express Gateway, from npm) needs Node.js; a machine whose node/npm came from
# elsewhere (e.g. NodeSource, which bundles npm) keeps them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PACKAGES="$PACKAGES nodejs npm"
fi

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "lab_packages.sh: missing packages:$missing; run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once, only when they are absent or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mtime -1 2>/dev/null | head -n 1)" ]; then
    apt-get update -qq
fi
# A package's own service (prometheus listens on every address by default) must not start on the
# control node: the lab starts what it needs on loopback. Block service starts for this install
# unless the machine already has a policy of its own.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=1
fi
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null || status=$?
[ -n "$own_policy" ] && rm -f "$policy"
# ...and not at the next boot either, on a machine run by systemd.
if [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
exit "${status:-0}"
