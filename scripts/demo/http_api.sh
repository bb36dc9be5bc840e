# Sourced by scripts/demo.sh (spbe serve --http is running at $SPBE_DEMO_URL, the lab is up, the demo's
# people have accounts): one Pusat Data ticket driven through the HTTP API alone, with curl. Nobody acts
# with --as here and no command changes the desk's state directly: each person proves who they are with
# their own personal access token, and the API asks the same policy as the CLI.
say "HTTP API: each person creates their own access token (nobody makes one for someone else)"
# On the control node of a demo deployment a person makes their token with 'spbe token create' (here with
# --as, the lab's way of being that person). The token is printed once; the demo keeps it in a variable
# and never shows it. curl reads the Authorization header from a file descriptor, so no token is in `ps`.
new_token() {  # the secret on stdout (captured), what it is on stderr (shown)
    spbe token create --as "$1" --expires 1d --scope act --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("token %s for %s: scope %s, until %s UTC" % (d["id"], d["user"], d["scope"], d["expires_at"][:16]), file=sys.stderr)
print(d["token"])'
}
tok_andi=$(new_token andi)      # pemohon (Dinas Kesehatan)
tok_sari=$(new_token sari)      # koordinator layanan
tok_kadis=$(new_token kadis)    # kepala dinas

# api TOKEN METHOD PATH [curl args]: the answer's body; fails (and shows it) on an answer that is not 2xx.
api() {
    local token="$1" method="$2" path="$3"
    shift 3
    curl -sS --fail-with-body -X "$method" -H @<(printf 'Authorization: Bearer %s\n' "$token") "$@" \
        "$SPBE_DEMO_URL/api/v1$path"
}
# refused EXPECTED TOKEN METHOD PATH [curl args]: show a refused call's status and JSON error; fail unless
# the status is EXPECTED. TOKEN "-" sends no credentials at all.
refused() {
    local expected="$1" token="$2" method="$3" path="$4" body status
    shift 4
    body="$(mktemp)"
    if [ "$token" = - ]; then
        status=$(curl -sS -o "$body" -w '%{http_code}' -X "$method" "$@" "$SPBE_DEMO_URL/api/v1$path")
    else
        status=$(curl -sS -o "$body" -w '%{http_code}' -X "$method" \
            -H @<(printf 'Authorization: Bearer %s\n' "$token") "$@" "$SPBE_DEMO_URL/api/v1$path")
    fi
    echo "$method /api/v1$path -> HTTP $status $(cat "$body")"
    rm -f "$body"
    [ "$status" = "$expected" ]
}
field() {  # field EXPR: a value from the JSON on stdin (EXPR in Python, the document is d)
    python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

for who in andi sari kadis; do
    tok="tok_$who"
    api "${!tok}" GET /me | field '"%s: %s, roles %s (auth: %s)" % (d["user"], d["name"], ", ".join(d["roles"]), d["auth"])'
done
unset tok

say "Without credentials the API answers 401 (only /healthz and /readyz are open)"
refused 401 - GET /tickets

say "The applicant opens a Pusat Data request: fields and the request letter in one multipart POST"
dir="$SPBE_STATE_DIR/http_api"
mkdir -p "$dir"
printf '%%PDF-1.4\n%% Surat permohonan pemanfaatan Pusat Data untuk SIKDA\n%%%%EOF\n' > "$dir/surat-permohonan.pdf"
printf '%%PDF-1.4\n%% Persetujuan aplikasi SIKDA\n%%%%EOF\n' > "$dir/persetujuan-aplikasi.pdf"
fields=$(python3 -c 'import json; print(json.dumps({
    "instansi": "Dinas Kesehatan", "perihal": "Permohonan pemanfaatan Pusat Data untuk SIKDA",
    "produk": "hosting-aplikasi", "nama_aplikasi": "sikda", "hostname": "sikda-app", "vcpu": 1, "ram_gb": 2,
    "disk_gb": 20, "backup": False, "uat": False, "kontak_email": "it@dinkes.example.go.id"}))')
opened=$(api "$tok_andi" POST /tickets -F service=pusat-data \
    -F "title=Hosting aplikasi SIKDA Dinas Kesehatan" -F "fields=$fields" \
    -F kinds=surat_permohonan -F "files=@$dir/surat-permohonan.pdf;type=application/pdf" \
    -F kinds=dokumen_persetujuan_aplikasi -F "files=@$dir/persetujuan-aplikasi.pdf;type=application/pdf")
H=$(printf '%s' "$opened" | field 'd["id"]')
printf '%s' "$opened" | field '"ticket %s (%s), status %s, SLA %s" % (d["id"], d["service_id"], d["status"], d["sla_variant"])'

say "The koordinator checks it (POST /tickets/$H/check)"
api "$tok_sari" POST "/tickets/$H/check" | field '"ticket %s: %s" % (d["id"], d["status"])'

say "The applicant may not approve their own request: 403, the ticket unchanged"
refused 403 "$tok_andi" POST "/tickets/$H/approve" -H 'Content-Type: application/json' \
    -d '{"reason": "Saya setujui sendiri."}'

say "The kepala dinas approves (POST /tickets/$H/approve): the approval alone starts the work"
api "$tok_kadis" POST "/tickets/$H/approve" -H 'Content-Type: application/json' \
    -d '{"reason": "Sesuai rekomendasi spesifikasi; disetujui untuk hosting SIKDA."}' \
    | field '"ticket %s: %s" % (d["id"], d["status"])'

say "The applicant follows the ticket over the API until the berita acara instalasi server is made"
goal=berita-acara-instalasi-server
last=""
for _ in $(seq 1 300); do   # up to 10 minutes: provisioning and monitoring run over SSH on the lab's host
    detail=$(api "$tok_andi" GET "/tickets/$H")
    state=$(printf '%s' "$detail" | field \
        '" ".join(s["status"] for s in d["steps"] if s["id"] == "'$goal'") + " " + str(d["current_step"])')
    if [ "$state" != "$last" ]; then
        printf '%s' "$detail" | field '"  now: %s" % (d["current_step"] or "(none)")'
        last="$state"
    fi
    case "$state" in done\ *) break ;; esac
    sleep 2
done
case "$state" in done\ *) ;; *) echo "step $goal did not finish over the API: $state" >&2; exit 1 ;; esac

say "What the applicant sees (GET /api/v1/tickets/$H)"
DETAIL="$detail" python3 - <<'PY'
import json, os
d = json.loads(os.environ["DETAIL"])
t, sla = d["ticket"], d["sla"]
mark = {"done": "selesai", "skipped": "dilewati", "current": "berjalan", "pending": "menunggu"}
print(f"Tiket {t['id']}: {t['title']}")
print(f"Status: {t['status']}   Pemohon: {t['requester']}   Langkah saat ini: {d['current_step']}")
late = " (terlampaui)" if sla["breached"] else ""
print(f"SLA: {sla['label']}, batas waktu {sla['deadline'][:16].replace('T', ' ')} UTC{late}")
print("Langkah:")
for s in d["steps"]:
    print(f"  [{mark.get(s['status'], s['status']):8}] {s['title'][:110]}")
print("Dokumen:")
for f in d["documents"]:
    print(f"  {f['name']}  ({f['size']} byte, {f['media_type']})")
print("Riwayat terakhir:")
for e in [e for e in d["timeline"] if e["kind"] != "attachment"][-4:]:
    print("  - " + e["text"].splitlines()[0].replace("**", "")[:120])
PY
doc=$(printf '%s' "$detail" | field \
    'next(f["name"] for f in d["documents"] if f["name"].startswith("berita_acara_instalasi_server"))')

say "The applicant downloads the berita acara (GET /api/v1/tickets/$H/documents/$doc)"
api "$tok_andi" GET "/tickets/$H/documents/$doc" -o "$dir/$doc"
echo "saved $dir/$doc ($(wc -c < "$dir/$doc") bytes); its beginning:"
sed -n '1,25p' "$dir/$doc"
unset tok_andi tok_sari tok_kadis

say "The same applicant in the portal: a password login (the demo's accounts file), 'Tiket saya', logout"
jar="$dir/portal-cookies"   # the browser's cookies (owner-only, removed below)
csrf_of() {  # the CSRF token of the portal page on stdin
    python3 -c 'import re,sys; m=re.search(r"name=\"csrf\" value=\"([^\"]+)\"", sys.stdin.read()); print(m.group(1))'
}
csrf=$(curl -sS -c "$jar" -b "$jar" "$SPBE_DEMO_URL/masuk" | csrf_of)
# The password goes from the accounts file to curl through a file descriptor: never in argv or the output.
curl -sS -c "$jar" -b "$jar" -o /dev/null -w 'POST /masuk -> HTTP %{http_code}, to %{redirect_url}\n' \
    --data-urlencode username=andi --data-urlencode "csrf=$csrf" \
    --data-urlencode password@<(awk '$1 == "andi" { printf "%s", $2 }' "$accounts_file") "$SPBE_DEMO_URL/masuk"
page=$(curl -sS -b "$jar" "$SPBE_DEMO_URL/tiket")
PAGE="$page" python3 - "$H" <<'PY'
import html, os, re, sys
page, ticket = os.environ["PAGE"], sys.argv[1]
heading = re.search(r"<h1>(.*?)</h1>", page).group(1)
row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if f">{ticket}<" in r)
cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
print(f"{heading}: " + " | ".join(cells))
PY
csrf=$(printf '%s' "$page" | csrf_of)
curl -sS -c "$jar" -b "$jar" -o /dev/null -w 'POST /keluar -> HTTP %{http_code}\n' --data-urlencode "csrf=$csrf" \
    "$SPBE_DEMO_URL/keluar"
rm -f "$jar"
unset page csrf
