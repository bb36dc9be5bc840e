"""A one-page PDF request letter (a real PDF: the attachment check reads the type from the content).

    python3 scripts/demo/make_letter.py OUT.pdf
"""

import sys
from pathlib import Path

TEXT = b"BT /F1 12 Tf 72 720 Td (Permohonan Pemanfaatan Pusat Data - Dinas Kesehatan) Tj ET"
OBJECTS = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> >> >>",
    b"<< /Length %d >>\nstream\n" % len(TEXT) + TEXT + b"\nendstream",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
]


def letter() -> bytes:
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, obj in enumerate(OBJECTS, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(OBJECTS) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(OBJECTS) + 1, xref)
    return bytes(out)


if __name__ == "__main__":
    Path(sys.argv[1]).write_bytes(letter())
