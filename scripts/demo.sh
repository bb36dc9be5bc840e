#!/usr/bin/env bash
# Set up, start the lab, and take one ticket of each automated service from open to closed on the
# embedded defaults (SQLite ticket store and queue, roles file), printing what the applicant sees.
# Each service's part is in scripts/demo/<service>.sh; DEMO_PARTS picks some (default: all, in order).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SPBE_VENV="${SPBE_VENV:-/opt/spbe/venv}"
export PATH="$SPBE_VENV/bin:$PATH"
export SPBE_STATE_DIR="${SPBE_STATE_DIR:-/var/lib/spbe/demo}"
# A demo deployment: the SOP's people act with --as (in production the OS account's person acts).
export SPBE_DEPLOYMENT=demo
export COLUMNS="${COLUMNS:-150}"   # rich tables read better wider than a pipe's default 80

say() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }

# A fresh desk for every demo run; the backup password is a secret kept outside the ticket.
# Owner-only from here on, like everything spbe itself keeps in the state directory (the applicants'
# files the parts write there included); only the lab is started with 022, for its hosts' services.
rm -rf "$SPBE_STATE_DIR"
umask 077
mkdir -p "$SPBE_STATE_DIR/secrets"
python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$SPBE_STATE_DIR/secrets/backup_password"
export SPBE_SECRETS="{\"backup_password\": {\"ref\": \"file:$SPBE_STATE_DIR/secrets/backup_password\"}}"
export SPBE_VAULT_KEY="${SPBE_VAULT_KEY:-$(spbe secret keygen)}"  # the secrets vault (issued API keys)
# The audit key signs the audit chain and its checkpoints; it and the checkpoint file live outside the
# state dir, so whoever can write the desk's files cannot rewrite its history. The key is made once (0600,
# never printed) and kept; a fresh desk is a fresh audit log, so its old checkpoints go with it.
audit_key="${SPBE_DEMO_AUDIT_KEY_FILE:-/etc/spbe/demo/audit.key}"
[ -f "$audit_key" ] || spbe audit keygen --output "$audit_key"
export SPBE_AUDIT__KEY__REF="file:$audit_key"
export SPBE_AUDIT__CHECKPOINT_FILE="${SPBE_AUDIT__CHECKPOINT_FILE:-/var/log/spbe/demo/audit-checkpoints.jsonl}"
rm -f "$SPBE_AUDIT__CHECKPOINT_FILE"
export SPBE_AUDIT__PUBLISH_INTERVAL_S="${SPBE_AUDIT__PUBLISH_INTERVAL_S:-60}"  # checkpoints onto the tickets

say "Lab: a Debian server in its own network namespace, reachable over real SSH"
(umask 022; spbe lab up --name demo)   # also cleans up what an earlier demo left (a reboot, a crash)
# spbe has no lab defaults: the lab writes the settings that point spbe at it (inventories, switch host
# keys, the quality prober on its data plane, its gateway's URLs), and the demo uses them.
SPBE_CONFIG="$(spbe lab status --name demo --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["config_file"])')"
export SPBE_CONFIG

say "The engine: 'spbe serve' (trigger loop + workers) runs in the background from here on"
spbe serve --workers 2 2>"$SPBE_STATE_DIR/serve.log" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null || true' EXIT

for part in ${DEMO_PARTS:-pusat_data jaringan_intra splp insiden}; do
    # shellcheck source=/dev/null
    source "scripts/demo/$part.sh"
done

say "The audit log of the whole demo is intact: checkpointed onto its tickets, every decision audited"
spbe audit checkpoint
spbe audit verify

say "Everything the desk keeps is owner-only (0600 files, 0700 directories)"
loose="$(find "$SPBE_STATE_DIR" -perm /077 -printf '%m %p\n')"
if [ -n "$loose" ]; then
    printf 'readable by others:\n%s\n' "$loose" >&2
    exit 1
fi
echo "no file or directory under $SPBE_STATE_DIR is open to group or others"
