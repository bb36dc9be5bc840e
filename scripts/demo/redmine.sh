# Sourced by scripts/demo.sh with DEMO_PARTS containing "redmine" (Redmine is up, `spbe serve` polls it and takes
# its webhooks): a Pusat Data request opened, checked and approved in the department's Redmine; spbe provisions,
# writes its results and the berita acara back to the Redmine issue; a self-approval there is refused.
RM_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$SPBE_STATE_DIR/redmine.json")
rm_key() { cat "$SPBE_STATE_DIR/redmine-keys/$1"; }
rm_open() {  # rm_open LOGIN SUBJECT HOSTNAME: a Pusat Data request with its letter, as LOGIN; prints the issue id
    python3 - "$SPBE_STATE_DIR/redmine.json" "$(rm_key "$1")" "$2" "$3" "$SPBE_STATE_DIR/surat-permohonan-dinkes.pdf" <<'PY'
import json, sys, urllib.request
info, key, subject, host, letter = json.load(open(sys.argv[1])), *sys.argv[2:]
def call(method, path, body, ctype="application/json"):
    req = urllib.request.Request(info["base_url"] + path, data=body, method=method,
                                 headers={"X-Redmine-API-Key": key, "Content-Type": ctype})
    return json.load(urllib.request.urlopen(req, timeout=30))
token = call("POST", "/uploads.json?filename=surat-permohonan.pdf", open(letter, "rb").read(),
             "application/octet-stream")["upload"]["token"]
approval = call("POST", "/uploads.json?filename=persetujuan-aplikasi.pdf", open(letter, "rb").read(),
                "application/octet-stream")["upload"]["token"]  # hosting needs it too (SOP 002 step 4)
fields = {"Layanan": "pusat-data", "Instansi": "Dinas Kesehatan", "Perihal": "Permohonan hosting SIMPUS",
          "Produk": "hosting-aplikasi", "Nama aplikasi": "simpus", "Nama host": host, "Jumlah vCPU": "2",
          "Memori (GB)": "4", "Penyimpanan (GB)": "40", "Backup": "ya", "UAT": "ya",
          "Email kontak": "it@dinkes.example.go.id"}
issue = {"project_id": info["project_id"], "tracker_id": info["trackers"]["Support"], "subject": subject,
         "custom_fields": [{"id": info["custom_fields"][k], "value": v} for k, v in fields.items()],
         "uploads": [{"token": token, "filename": "surat-permohonan.pdf", "content_type": "application/pdf"},
                     {"token": approval, "filename": "persetujuan-aplikasi.pdf", "content_type": "application/pdf"}]}
print(call("POST", "/issues.json", json.dumps({"issue": issue}).encode())["issue"]["id"])
PY
}
rm_status() {  # rm_status LOGIN ISSUE STATUS NOTE
    python3 - "$SPBE_STATE_DIR/redmine.json" "$(rm_key "$1")" "$2" "$3" "$4" <<'PY'
import json, sys, urllib.request
info, key, issue, status, note = json.load(open(sys.argv[1])), *sys.argv[2:]
body = json.dumps({"issue": {"status_id": info["statuses"][status], "notes": note}}).encode()
req = urllib.request.Request(f"{info['base_url']}/issues/{issue}.json", data=body, method="PUT",
                             headers={"X-Redmine-API-Key": key, "Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=30)
PY
}
rm_show() {  # rm_show ISSUE: what the issue shows in Redmine (status, spbe's notes' first lines, files)
    python3 - "$RM_URL" "$(rm_key spbe)" "$1" <<'PY'
import json, sys, urllib.request
url, key, issue = sys.argv[1:]
req = urllib.request.Request(f"{url}/issues/{issue}.json?include=journals,attachments",
                             headers={"X-Redmine-API-Key": key})
data = json.load(urllib.request.urlopen(req, timeout=30))["issue"]
print(f"Redmine #{issue}: {data['subject']} [{data['status']['name']}]")
for j in data["journals"]:
    if j.get("notes"):
        first = j["notes"].strip().splitlines()[0][:110]
        print(f"  {j['user']['name']:<22} {first}")
for a in data["attachments"]:
    print(f"  file: {a['filename']} ({a['filesize']} bytes)")
PY
}
rm_ticket() {  # rm_ticket ISSUE: the spbe ticket of a Redmine issue, once the intake has taken it
    for _ in $(seq 1 60); do
        t=$(spbe desk show redmine "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ticket"] or "")')
        [ -n "$t" ] && { echo "$t"; return 0; }
        sleep 1
    done
    return 1
}
letter="$SPBE_STATE_DIR/surat-permohonan-dinkes.pdf"
[ -f "$letter" ] || python3 scripts/demo/make_letter.py "$letter"

say "Redmine 1. The applicant opens the request in the department's Redmine (its REST API, his own key)"
I=$(rm_open andi "Hosting aplikasi SIMPUS (lewat Redmine)" simpus-rm)
echo "Redmine issue #$I"
say "Redmine 2. A signed webhook tells spbe at once (the poll every 3 s would find it as well)"
body="{\"payload\": {\"issue\": {\"id\": $I}, \"action\": \"opened\"}}"
stamp=$(date +%s)
signature=$(printf '%s.%s' "$stamp" "$body" | openssl dgst -sha256 -hmac "$(cat "$SPBE_STATE_DIR/secrets/desk-redmine-webhook")" -r | cut -d' ' -f1)
curl -fsS -X POST "$SPBE_DEMO_URL/hooks/redmine" -H "Content-Type: application/json" -H "X-Spbe-Timestamp: $stamp" \
    -H "X-Spbe-Signature: sha256=$signature" -H "X-Spbe-Delivery: demo-$I" --data "$body"; echo
echo "an unsigned delivery is refused: HTTP $(curl -s -o /dev/null -w '%{http_code}' -X POST "$SPBE_DEMO_URL/hooks/redmine" --data "$body")"
RT=$(rm_ticket "$I")
echo "Redmine #$I is spbe ticket $RT"
say "Redmine 3. The koordinator checks it in Redmine, the kepala dinas approves it there"
rm_status sari "$I" Diperiksa "Berkas lengkap."
rm_status kadis "$I" Disetujui "Disetujui sesuai rekomendasi spesifikasi."
say "Redmine 4. spbe takes the approval (poll), asks its own policy, provisions, and writes back to Redmine"
spbe ticket wait "$RT" --step berita-acara-instalasi-server --timeout 600
sleep 4   # the mirror's next round
rm_show "$I"
say "Redmine 5. The acting head files a request of his own office and approves it himself in Redmine: refused"
I2=$(rm_open kadis2 "Hosting aplikasi Diskominfo (lewat Redmine)" dkf-rm)
RT2=$(rm_ticket "$I2")
rm_status sari "$I2" Diperiksa "Berkas lengkap."
rm_status kadis2 "$I2" Disetujui "Saya setujui sendiri."
sleep 8   # two polls
rm_show "$I2"
spbe jobs list --ticket "$RT2"
spbe desk status redmine
