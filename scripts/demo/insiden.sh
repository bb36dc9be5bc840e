# Sourced by scripts/demo.sh (spbe serve is running, the lab is up): a cyber incident on the lab's
# affected web server (ir-web-01): report, verification, inspection and sealed evidence, then the CSIRT
# isolates the host and proves it by traffic from the attacker's and the CSIRT's namespaces, and
# releases it. (The recovery, verification and closing steps are exercised in tests/e2e.)
probe() {  # what the lab's attacker and CSIRT namespaces can reach on the affected host, by traffic
    spbe lab status --name "$SPBE_DEMO_LAB" --json | python3 -c '
import json, sys
sys.path.insert(0, ".")
from lab.probe import http_get, ssh_banner
inc = json.load(sys.stdin)["incident"]
for who in ("attacker", "csirt"):
    ns, host = inc[who + "_netns"], inc["affected_address"]
    web = "reachable" if http_get(ns, host, inc["web_port"]).ok else "BLOCKED"
    ssh = "reachable" if ssh_banner(ns, host).ok else "BLOCKED"
    print(f"  {who:8} -> web: {web:9}  ssh: {ssh}")
'
}
say "Penanganan Insiden Siber: a reporter reports that the web server ir-web-01 was defaced"
dir="$SPBE_STATE_DIR/insiden"; mkdir -p "$dir"
# A real (1x1) PNG: attachment types are read from the content, a bare signature is not an image.
python3 -c 'import struct, sys, zlib
chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))' > "$dir/layar.png"
printf 'GET / 200 "HACKED"\n' > "$dir/log.txt"
printf '%%PDF-1.4\n%%%%EOF\n' > "$dir/ktp.pdf"
I=$(spbe ticket open insiden-siber --as lina --title "Halaman situs layanan diretas" \
    -f pelapor_nama="Nur Aisyah" -f pelapor_kontak=nur.aisyah@example.go.id -f instansi="Dinas Kesehatan" \
    -f objek_terdampak=ir-web-01 -f deskripsi="Halaman depan berubah menjadi pesan peretas." -f ada_backup=tidak \
    -f perlu_press_release=ya -a tangkapan_layar="$dir/layar.png" -a log_sistem="$dir/log.txt" \
    -a kartu_identitas="$dir/ktp.pdf" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "ticket $I"
say "The koordinator forwards it to the CSIRT and verifies it as an incident: inspection and evidence run"
spbe ticket assign "$I" --as sari rina
spbe ticket approve "$I" --as sari --reason "Laporan terverifikasi: tangkapan layar dan log sesuai."
spbe ticket wait "$I" --step press-release-insiden --timeout 300
spbe evidence list --ticket "$I"
say "Before containment"
probe
say "The CSIRT isolates the host (nftables, persistent; the previous ruleset saved for release)"
spbe contain host ir-web-01 --ticket "$I" --as rina --reason "Server diretas; diisolasi selama penanganan."
probe
say "Released: everything as before"
spbe release host ir-web-01 --ticket "$I" --as rina --reason "Demo: isolasi dilepas."
probe
say "What someone other than the coordinator and the CSIRT sees: the reporter stays hidden"
spbe ticket show "$I" --as kadis
