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
cat "$SPBE_STATE_DIR/artifacts/$N/${N}_sw-bkd-01.diff"

say "The head of office approves the attached plan; the team prepares; the applicant confirms the schedule"
spbe ticket approve "$N" --as kadis --reason "Rencana konfigurasi VLAN dan ACL disetujui."
spbe ticket advance "$N" --as yusuf --step persiapan-pemasangan --note "Perangkat dan jadwal pemasangan siap."
spbe ticket advance "$N" --as budi --step konfirmasi-jadwal --note "Jadwal pemasangan dikonfirmasi."

say "Installation (backup, push, verify), quality test from the new segment, berita acara, report"
spbe ticket wait "$N" --step laporan-pelaksanaan --timeout 300
spbe jobs list --ticket "$N"
spbe ticket close "$N" --as sari --note "Jaringan terpasang dan lulus uji kualitas."
spbe ticket wait "$N" --step notifikasi-penutupan --timeout 120
spbe ticket show "$N" --as budi
say "An engineer re-verifies the installed change from the attached plan, outside the ticket"
spbe network verify --plan "$SPBE_STATE_DIR/artifacts/$N/${N}_plan.json"
