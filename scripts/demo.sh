#!/usr/bin/env bash
# Set up, start the lab, and take one ticket of each automated service from open to closed on the
# embedded defaults (SQLite ticket store and queue, roles file), printing what the applicant sees.
# Each service's part is in scripts/demo/<service>.sh; DEMO_PARTS picks some (default: all, in order).
# The front door (HTTP API and portal) is served beside the engine at SPBE_DEMO_HTTP; the demo's people get
# local accounts with random passwords, kept in $SPBE_STATE_DIR/demo-accounts.txt (0600).
# Several demos on one machine: give each its own SPBE_STATE_DIR, SPBE_DEMO_LAB and SPBE_DEMO_HTTP;
# SPBE_SKIP_SETUP=1 uses the virtualenv as it is (setup.sh would re-install spbe from this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SPBE_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh
SPBE_VENV="${SPBE_VENV:-/opt/spbe/venv}"
export PATH="$SPBE_VENV/bin:$PATH"
export SPBE_STATE_DIR="${SPBE_STATE_DIR:-/var/lib/spbe/demo}"
export SPBE_DEMO_LAB="${SPBE_DEMO_LAB:-demo}"   # the lab's name (spbe lab status --name ...)
SPBE_DEMO_HTTP="${SPBE_DEMO_HTTP:-127.0.0.1:8080}"
export SPBE_DEMO_URL="http://$SPBE_DEMO_HTTP"
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
# Two Pusat Data pool hosts: the CLI's ticket and the HTTP API's each get a server of their own.
# (also cleans up what an earlier demo left: a reboot, a crash)
parts="${DEMO_PARTS:-pusat_data jaringan_intra splp insiden kepatuhan evaluasi http_api}"
hosts=(--host pd-app-01 --host pd-app-02)
[[ " $parts " == *" redmine "* ]] && hosts+=(--host pd-app-03)  # the Redmine request's own server
(umask 022; spbe lab up --name "$SPBE_DEMO_LAB" "${hosts[@]}")
# spbe has no lab defaults: the lab writes the settings that point spbe at it (inventories, switch host
# keys, the quality prober on its data plane, its gateway's URLs), and the demo uses them.
SPBE_CONFIG="$(spbe lab status --name "$SPBE_DEMO_LAB" --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["config_file"])')"
export SPBE_CONFIG

# A site's own compliance profile beside the packaged ones (the Audit TI part, scripts/demo/kepatuhan.sh).
export SPBE_COMPLIANCE__PROFILES_DIR="$SPBE_STATE_DIR/profil-kepatuhan"
mkdir -p "$SPBE_COMPLIANCE__PROFILES_DIR"
cp scripts/demo/profil-kepatuhan-demo.yaml "$SPBE_COMPLIANCE__PROFILES_DIR/demo-server.yaml"

redmine_dir=""
if [[ " $parts " == *" redmine "* ]]; then
    # Opt-in (DEMO_PARTS="... redmine"): Redmine's install (scripts/redmine_packages.sh) takes a minute.
    say "Redmine as the department's own service desk: a private, provisioned instance on loopback"
    bash scripts/redmine_packages.sh
    redmine_dir="/tmp/spbe-demo-redmine-$SPBE_DEMO_LAB"   # www-data's; the state folder is root's, 0700
    python -m lab.redmine_demo up "$redmine_dir" "$SPBE_STATE_DIR"
    python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$SPBE_STATE_DIR/secrets/desk-redmine-webhook"
    export SPBE_DESKS_DIR="$SPBE_STATE_DIR/desks"
    export SPBE_SECRETS="{\"backup_password\": {\"ref\": \"file:$SPBE_STATE_DIR/secrets/backup_password\"},
 \"desk-redmine\": {\"ref\": \"file:$SPBE_STATE_DIR/redmine-keys/spbe\"},
 \"desk-redmine-webhook\": {\"ref\": \"file:$SPBE_STATE_DIR/secrets/desk-redmine-webhook\"}}"
    spbe desk check redmine
fi

say "The engine and the front door: 'spbe serve --http' (trigger loop, workers, HTTP API and portal)"
spbe serve --workers 2 --http "$SPBE_DEMO_HTTP" 2>"$SPBE_STATE_DIR/serve.log" &
serve_pid=$!
# However the demo ends (done, a failed step, Ctrl-C), the server stops and is waited for: it lets its
# running jobs finish or stops them, so no process of the demo is left behind.
stop_serve() {
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    [ -z "$redmine_dir" ] || python -m lab.redmine_demo down "$redmine_dir" >/dev/null 2>&1 || true
}
trap stop_serve EXIT
trap 'exit 130' INT TERM
ready=""
for _ in $(seq 1 120); do
    kill -0 "$serve_pid" 2>/dev/null || break
    if curl -fsS -o /dev/null "$SPBE_DEMO_URL/readyz" 2>/dev/null; then ready=1; break; fi
    sleep 0.5
done
if [ -z "$ready" ]; then
    echo "spbe serve did not become ready at $SPBE_DEMO_URL/readyz; its log:" >&2
    tail -n 20 "$SPBE_STATE_DIR/serve.log" >&2
    exit 1
fi
echo "ready: $SPBE_DEMO_URL/readyz answers $(curl -fsS "$SPBE_DEMO_URL/readyz")"

say "Local accounts for the demo's people (made by the koordinator, the only role that administers accounts)"
# Random passwords, written only to an owner-only file: the terminal (and whatever records it) shows the
# usernames and where the file is, never a password.
accounts_file="$SPBE_STATE_DIR/demo-accounts.txt"
: > "$accounts_file"
chmod 600 "$accounts_file"
for person in andi budi lina sari kadis dewi yusuf rina prov-dukcapil; do
    password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
    printf '%s\n' "$password" | spbe user add "$person" --password-stdin --as sari
    printf '%s %s\n' "$person" "$password" >> "$accounts_file"
done
unset password
echo "Portal:    $SPBE_DEMO_URL/  (HTTP API: $SPBE_DEMO_URL/api/v1, its document at /api/v1/openapi.json)"
echo "Accounts:  $accounts_file (0600: username and password per line)"

for part in $parts; do
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

say "The demo is done: its server (engine, API, portal at $SPBE_DEMO_URL/) stops with it; the lab stays up"
echo "accounts of the demo's people: $accounts_file"
