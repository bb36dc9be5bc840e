# Sourced by scripts/demo.sh (spbe serve is running, the lab is up): one Jaringan Intra ticket from
# open to closed against the lab's switch simulators and data plane.
say "Jaringan Intra: the applicant (BKD) asks to connect 20 staff to SIMPEG and DNS"
ktp="$SPBE_STATE_DIR/ktp-budi.pdf"
printf '%%PDF-1.4\n%% Kartu identitas pemohon\n%%%%EOF\n' > "$ktp"
N=$(spbe ticket open jaringan-intra --as budi --title "Jaringan intra ruang kepegawaian BKD" \
    -f instansi="Badan Kepegawaian Daerah" -f lokasi=bkd -f jumlah_user=20 -f aplikasi=simpeg,dns \
    -f kontak_email=it@bkd.example.go.id -a kartu_identitas="$ktp" --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "ticket $N"
spbe ticket check "$N" --as sari
spbe ticket approve "$N" --as kadis --reason "Disetujui untuk pemanfaatan Jaringan Intra."

say "Analysis: the switch at the site is read, a free VLAN, ports and subnet are chosen, the plan is attached"
spbe ticket wait "$N" --step analisis-kebutuhan --timeout 120
source scripts/demo/signers.sh
# Job files lie encrypted in the state directory: the ticket is the way to them (once the outbox attached them).
demo_wait_file "$N" "${N}_sw-bkd-01.diff"
diff_file="$SPBE_STATE_DIR/${N}_sw-bkd-01.diff"
rm -f "$diff_file"
spbe ticket download "$N" "${N}_sw-bkd-01.diff" -o "$diff_file" --as sari
cat "$diff_file"

say "The head of office approves the attached plan; the team proposes the schedule; the applicant confirms it"
spbe ticket approve "$N" --as kadis --reason "Rencana konfigurasi VLAN dan ACL disetujui."
# A minute from now, so the demo does not wait long; the installation is not started before it.
start=$(date -d '+1 minute' '+%Y-%m-%dT%H:%M:%S%:z'); end=$(date -d '+61 minutes' '+%Y-%m-%dT%H:%M:%S%:z')
spbe ticket schedule propose "$N" --as yusuf --start "$start" --end "$end" \
    --note "Perangkat dan peralatan pendukung siap."
spbe ticket schedule confirm "$N" --as budi

say "At the confirmed start: installation (backup, push, verify), quality test, berita acara"
spbe ticket wait "$N" --step uji-kualitas --timeout 300
demo_signer budi applicant
demo_signer yusuf staff
say "9. The applicant and the team sign the berita acara (PAdES); the report follows the last signature"
demo_wait_file "$N" "berita_acara_penggunaan_layanan_$N.pdf"
demo_sign "$N" berita_acara_penggunaan_layanan budi yusuf
spbe ticket wait "$N" --step laporan-pelaksanaan --timeout 300
spbe jobs list --ticket "$N"
spbe ticket close "$N" --as sari --note "Jaringan terpasang dan lulus uji kualitas."
spbe ticket wait "$N" --step notifikasi-penutupan --timeout 120
spbe ticket show "$N" --as budi
say "An engineer re-verifies the installed change from the attached plan, outside the ticket"
spbe network verify --ticket "$N" --as sari
