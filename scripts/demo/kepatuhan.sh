# Sourced by scripts/demo.sh (spbe serve is running, the lab is up): scheduled compliance and Audit TI. A lab
# server drifts (its firewall flushed, an upload directory world-writable); a compliance run finds it and
# opens one Audit TI ticket; the remediation plan (Ansible check-mode diff) is attached; the Kepala Bidang
# TI approves it; the playbooks run, the rules are checked again over SSH and the ticket closes by itself.
say "Audit TI: the lab server pd-app-01 drifts (firewall flushed, a world-writable upload directory)"
spbe lab status --name "$SPBE_DEMO_LAB" --json | python3 -c '
import json, sys
sys.path.insert(0, ".")
from lab.sshd import host_exec
host = next(h for h in json.load(sys.stdin)["hosts"] if h["name"] == "pd-app-01")
for argv in (["nft", "flush", "ruleset"], ["mkdir", "-p", "/srv/apps/demo/upload"],
             ["chmod", "0777", "/srv/apps/demo/upload"]):
    done = host_exec(host["init_pid"], argv)
    assert done.returncode == 0, (argv, done.stderr)
print("pd-app-01: nft flush ruleset; chmod 0777 /srv/apps/demo/upload")
'
say "A daily check at 02:00 WIB (fired by spbe serve), and one run now"
spbe compliance schedule add demo-harian --profile demo-server --target pd-app-01 --cron "0 2 * * *" \
    --tz Asia/Jakarta --as eko
spbe compliance schedule list
run_json="$SPBE_STATE_DIR/kepatuhan-run.json"
spbe compliance run demo-server --target pd-app-01 --as hendra --json > "$run_json" || true  # exit 1: findings
spbe compliance run demo-server --target pd-app-01 --as hendra || true   # the table; the open ticket is reused
A=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tickets"]["pd-app-01"])' "$run_json")
echo "Audit TI ticket $A"
spbe ticket wait "$A" --step analisis-rekomendasi --timeout 300
spbe ticket show "$A"
say "The Kepala Bidang TI approves the attached plan: remediation, re-check, report, closed by itself"
spbe ticket approve "$A" --as kabid --reason "Rencana perbaikan firewall dan izin berkas disetujui."
spbe ticket wait "$A" --step laporan --timeout 600
spbe ticket show "$A" --json | python3 -c 'import json,sys; t=json.load(sys.stdin)["ticket"]; print(t["id"], t["status"])'
spbe compliance run demo-server --target pd-app-01 --as hendra
spbe compliance report --profile demo-server --output "$SPBE_STATE_DIR/laporan-kepatuhan"
