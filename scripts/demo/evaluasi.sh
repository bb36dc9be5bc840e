# Sourced by scripts/demo.sh after the service parts: the standard's own loop (issue 18). A complaint through the
# application and one that came in through SP4N-LAPOR, each forwarded, answered and closed; the applicant's
# satisfaction survey on the Pusat Data ticket closed above; the yearly evaluation of this demo's desk, and of a
# generated year in a desk of its own.
: "${T:?the evaluasi part follows the pusat_data part (DEMO_PARTS), whose closed ticket it surveys}"
field() {  # field EXPR: a value from the JSON on stdin (EXPR in Python, the document is d)
    python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

say "Pengaduan: the applicant complains about a service; the koordinator answers within the response time"
C=$(spbe complaint submit --as andi --layanan pusat-data --tiket "$T" \
    --text "Aplikasi SIMPUS sempat lambat diakses setelah instalasi; mohon dicek." --json | field 'd["id"]')
spbe complaint forward "$C" --as sari
spbe complaint answer "$C" --as sari --text "Batas sumber daya server dinaikkan; silakan dicoba kembali."
spbe complaint close "$C" --as sari
spbe complaint show "$C" --as andi

say "SP4N-LAPOR: staff enter a complaint with its tracking number; the answer is pasted back into LAPOR"
L=$(spbe complaint submit --as sari --kanal sp4n_lapor --nomor-lapor 4812345 --nama-pengadu "Warga Kelurahan Botu" \
    --layanan jaringan-intra --text "Internet di kantor kelurahan sering terputus." --json | field 'd["id"]')
spbe complaint forward "$L" --as sari
spbe complaint answer "$L" --as sari --text "Perangkat jaringan di kantor kelurahan sudah diganti dan diuji."
spbe complaint reply-text "$L" --as sari
spbe complaint close "$L" --as sari

say "Survei Kepuasan Masyarakat: the applicant of the closed Pusat Data ticket answers the nine elements once"
spbe survey answer "$T" --u1 4 --u2 3 --u3 3 --u4 4 --u5 4 --u6 4 --u7 4 --u8 3 --u9 3 \
    --comment "Pelayanan cepat dan jelas." --as andi
spbe survey answer "$T" --u1 1 --u2 1 --u3 1 --u4 1 --u5 1 --u6 1 --u7 1 --u8 1 --u9 1 --as andi \
    && { echo "a second answer was accepted" >&2; exit 1; } || echo "a second answer for $T is refused"
spbe survey ikm

say "Evaluasi tahunan: the figures of this desk, computed in SQL, as a PDF with charts and as JSON"
spbe report evaluasi --year "$(date +%Y)" --format pdf -o "$SPBE_STATE_DIR/evaluasi-$(date +%Y).pdf"
pdftotext -layout -l 1 "$SPBE_STATE_DIR/evaluasi-$(date +%Y).pdf" - | sed -n '1,40p'

say "Evaluasi tahunan over a generated year (5 000 tickets, complaints and survey answers) in a desk of its own"
(
    export SPBE_STATE_DIR="$SPBE_STATE_DIR/evaluasi-contoh"
    mkdir -p "$SPBE_STATE_DIR"
    spbe report seed-history --year 2025 --tickets 5000 --seed 7
    spbe report evaluasi --year 2025 -o "$SPBE_STATE_DIR/evaluasi-2025.pdf"
    spbe report evaluasi --year 2025 --month 6 --service pusat-data --json | field \
        '"Juni 2025, pusat-data: %d permohonan, IKM %s (%s)" % (d["services"][0]["outcomes"]["total"], d["services"][0]["ikm"]["ikm"], d["services"][0]["ikm"]["kinerja"])'
)
