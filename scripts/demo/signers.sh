# shellcheck shell=bash
# Sourced by the demo's parts whose SOP has a document signed by its parties (PAdES, the embedded `pades`
# signer): the local CA once per demo state, then a certificate per signer the way each gets one. Staff
# enrol in person (`spbe sign enroll`); an applicant asks through the Tanda Tangan Elektronik service and
# activates the certificate with a passphrase of their own (`spbe sign activate`). Demo passphrases only.
demo_passphrase() { printf '%s-frasa-demo-1\n' "$1"; }

demo_ca() {
    [ -f "$SPBE_STATE_DIR/signing/ca.crt" ] \
        || spbe sign init --organisation "Dinas Komunikasi, Informatika dan Statistik" --as sari
}

# demo_signer USER [staff|applicant]
demo_signer() {
    local user="$1" kind="${2:-staff}" tte letter
    demo_ca
    spbe sign status "$user" --as "$user" --json | grep -q '"state": "active"' && return 0
    if [ "$kind" = staff ]; then
        demo_passphrase "$user" | spbe sign enroll "$user" --as "$user" --passphrase-stdin
        return 0
    fi
    letter="$SPBE_STATE_DIR/surat-tte-$user.pdf"
    python3 scripts/demo/make_letter.py "$letter"
    tte=$(spbe ticket open tanda-tangan-elektronik --as "$user" --title "Sertifikat elektronik $user" \
        -f instansi="Dinas Kesehatan" -f jabatan="Pengelola Sistem Informasi" -a surat_permohonan="$letter" \
        --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    spbe ticket check "$tte" --as agus
    spbe ticket approve "$tte" --as kabid --reason "Identitas pemohon telah diverifikasi."
    spbe ticket wait "$tte" --step penerbitan-sertifikat --timeout 120
    demo_passphrase "$user" | spbe sign activate --as "$user" --passphrase-stdin
}

# demo_sign TICKET DOCUMENT USER...: each signs in the given (the SOP's) order.
demo_sign() {
    local ticket="$1" document="$2" user
    shift 2
    for user in "$@"; do
        demo_passphrase "$user" | spbe document sign "$ticket" "$document" --as "$user" --passphrase-stdin
    done
}

# demo_wait_file TICKET NAME: until the engine has attached NAME (a rendered document), at most two minutes.
demo_wait_file() {
    local i
    for i in $(seq 240); do
        spbe ticket show "$1" --as sari --json | grep -q "\"$2\"" && return 0
        sleep 0.5
    done
    echo "no $2 on $1" >&2
    return 1
}
