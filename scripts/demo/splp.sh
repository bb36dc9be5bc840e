# Sourced by scripts/demo.sh (spbe serve is running, the lab is up with its Express Gateway): one SPLP
# ticket from open to closed. The API key is issued on the lab's real gateway, tried out through its
# proxy, kept only in the encrypted vault and revealed once to the applicant.
say "SPLP: Dinas Kesehatan asks to use the population API (kependudukan) for SIMPUS"
surat="$SPBE_STATE_DIR/surat-permohonan-api.pdf"
printf '%%PDF-1.4\n%% Surat permohonan penggunaan API\n%%%%EOF\n' > "$surat"
N=$(spbe ticket open splp --as andi --title "Akses API kependudukan untuk SIMPUS" \
    -f instansi="Dinas Kesehatan" -f api_id=kependudukan -f aplikasi_konsumen=simpus-dinkes \
    -f kebutuhan_data="NIK dan nama pasien untuk verifikasi pendaftaran" -f rate_limit_per_menit=60 \
    -f kontak_email=it@dinkes.example.go.id -a surat_permohonan="$surat" --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "ticket $N"
spbe ticket check "$N" --as sari

say "Only the provider of THIS API approves: the licensing API's provider is refused"
spbe ticket approve "$N" --as prov-dpmptsp --reason "Setuju." && exit 1 || true
spbe ticket approve "$N" --as prov-dukcapil --reason "Disetujui untuk verifikasi pasien SIMPUS."
spbe ticket advance "$N" --as sari --step pengarahan-ke-tim --note "Diteruskan ke Tim Pengembangan Aplikasi (SPLP)."

say "Endpoint, consumer, key, ACL and quota on the lab gateway; try-out through its proxy"
spbe ticket wait "$N" --step try-out-endpoint --timeout 180
spbe jobs list --ticket "$N"

say "The applicant collects the key once (the ticket shows only its last 4 characters)"
key=$(spbe secret reveal "$N" --name api-key --as andi --json)
endpoint=$(printf '%s' "$key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["attributes"]["endpoint"])')
auth=$(printf '%s' "$key" | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print("apiKey " + d["attributes"]["key_id"] + ":" + d["secret"])')
echo "key revealed to andi (ends in ${auth: -4}); a call through the gateway with it:"
curl -sS -H "Authorization: $auth" "$endpoint/pasien"; echo
echo "and without it:"
curl -sS -o /dev/null -w 'HTTP %{http_code}\n' "$endpoint/pasien"
unset key auth
say "A second reveal is refused (and audited)"
spbe secret reveal "$N" --name api-key --as andi && exit 1 || true

say "The applicant confirms; berita acara (agreement) and report are made"
source scripts/demo/signers.sh
demo_signer andi applicant
demo_signer prov-dukcapil staff
demo_signer dewi staff
spbe ticket advance "$N" --as andi --step konfirmasi-pengguna --note "Endpoint sesuai kebutuhan SIMPUS."
say "8. The API user, the API's provider and the team sign the agreement (PAdES), in the SOP's order"
demo_wait_file "$N" "berita_acara_perjanjian_api_$N.pdf"
demo_sign "$N" berita_acara_perjanjian_api andi prov-dukcapil dewi
spbe ticket wait "$N" --step laporan-pelaksanaan --timeout 180
agreement="$SPBE_STATE_DIR/berita_acara_perjanjian_api_$N.md"
rm -f "$agreement"
spbe ticket download "$N" "berita_acara_perjanjian_api_$N.md" -o "$agreement" --as andi
sed -n '1,40p' "$agreement"
spbe ticket close "$N" --as sari --note "Dokumen perjanjian dan laporan lengkap."
spbe ticket wait "$N" --step notifikasi-penutupan --timeout 120
spbe ticket show "$N" --as andi

say "The API credentials spbe issued (masked), checked against the gateway"
spbe api list --live
