# Sourced by scripts/demo.sh (spbe serve is running, the lab is up): one Pusat Data ticket from open
# to closed, the approval alone triggering provisioning, monitoring, backup and the berita acara.
say "The service catalog"
spbe catalog list

letter="$SPBE_STATE_DIR/surat-permohonan-dinkes.pdf"
python3 scripts/demo/make_letter.py "$letter"
approval="$SPBE_STATE_DIR/persetujuan-aplikasi-simpus.pdf"  # hosting needs it too (SOP 002 step 4)
python3 scripts/demo/make_letter.py "$approval"

say "An applicant without the request letter is refused, and told what is missing"
spbe ticket open pusat-data --as andi --title "Hosting SIMPUS" -f instansi="Dinas Kesehatan" \
    -f perihal="Permohonan hosting" -f produk=hosting-aplikasi -f nama_aplikasi=simpus \
    -f hostname=simpus-app -f vcpu=2 -f ram_gb=4 -f disk_gb=40 -f kontak_email=it@dinkes.example.go.id \
    && exit 1 || true

say "1. The applicant opens the ticket"
T=$(spbe ticket open pusat-data --as andi --title "Hosting aplikasi SIMPUS Dinas Kesehatan" \
    -f instansi="Dinas Kesehatan" -f perihal="Permohonan pemanfaatan Pusat Data untuk SIMPUS" \
    -f produk=hosting-aplikasi -f nama_aplikasi=simpus -f hostname=simpus-app -f vcpu=2 -f ram_gb=4 \
    -f disk_gb=40 -f backup=ya -f uat=ya -f kontak_email=it@dinkes.example.go.id \
    -a surat_permohonan="$letter" -a dokumen_persetujuan_aplikasi="$approval" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "ticket $T"

say "2. The koordinator layanan checks completeness"
spbe ticket check "$T" --as sari

say "3. Only the kepala dinas may approve (a team member is refused)"
spbe ticket approve "$T" --as rudi --reason "saya setuju" && exit 1 || true
spbe ticket approve "$T" --as kadis --reason "Sesuai rekomendasi spesifikasi; disetujui untuk hosting SIMPUS."

say "4-7. The approval alone triggers the automated steps: notify, provision, monitoring, backup, berita acara"
spbe ticket wait "$T" --step berita-acara-instalasi-server --timeout 600
spbe jobs list --ticket "$T"

say "8-9. The app-dev team records the application installation and the UAT"
spbe ticket advance "$T" --as dewi --step instalasi-aplikasi --note "Aplikasi SIMPUS v2.3 terpasang di /srv/apps/simpus."
spbe ticket advance "$T" --as dewi --step uji-fungsionalitas --note "Uji beban fungsionalitas 50 pengguna serentak: lulus."

say "10. Berita acara pemanfaatan (PDF with kop surat), signed electronically (PAdES): app-dev team, then applicant"
spbe ticket wait "$T" --step berita-acara-pemanfaatan --timeout 120
# The applicant's certificate comes through the Tanda Tangan Elektronik service (scripts/demo/signers.sh).
source scripts/demo/signers.sh
demo_signer dewi staff
demo_signer andi applicant
demo_sign "$T" berita_acara_pemanfaatan dewi andi
signed="$SPBE_STATE_DIR/berita-acara-pemanfaatan-$T.pdf"
rm -f "$signed"
spbe ticket download "$T" "berita_acara_pemanfaatan_${T}_ttd2.pdf" --output "$signed" --as andi
spbe document verify "$signed" --as andi

say "11. The implementation report"
spbe ticket wait "$T" --step laporan-pelaksanaan --timeout 120

say "12-13. The koordinator closes the ticket; the applicant is notified"
spbe ticket close "$T" --as sari --note "Seluruh tahapan selesai dan dokumen lengkap."
spbe ticket wait "$T" --step notifikasi-penutupan --timeout 120

say "What the applicant sees"
spbe ticket show "$T" --as andi

say "The audit log is intact"
spbe audit verify

say "Prometheus on the monitoring host scrapes the new server (query: up)"
prom=$(spbe lab status --name "$SPBE_DEMO_LAB" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["prometheus_url"] or "")')
if [ -n "$prom" ]; then
    python3 - "$prom" <<'PY'
import json, sys, time, urllib.request
url = sys.argv[1] + "/api/v1/query?query=up"
for _ in range(30):
    result = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
    if any(r["value"][1] == "1" for r in result):
        break
    time.sleep(1)
for r in result:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(r["metric"].items()) if k != "__name__")
    print(f"up={r['value'][1]}  {labels}")
PY
fi
echo
echo "Documents attached to $T (encrypted at rest; 'spbe ticket download $T NAME -o FILE' saves one):"
spbe ticket show "$T" --as sari --json \
    | python3 -c 'import json,sys; print("\n".join(a["name"] for a in json.load(sys.stdin)["ticket"]["attachments"]))'
