"""Small but real files of the types the catalog accepts, built in the test (no binary fixtures).

libmagic reads the content, so a bare signature is not enough: the PDF has its objects, xref and
trailer, the PNG its IHDR/IDAT/IEND chunks with CRCs, the JPEG a JFIF header and its segments.
"""

from __future__ import annotations

import struct
import zlib


def pdf_bytes(text: str = "Surat permohonan") -> bytes:
    body = b"BT /F1 12 Tf 72 720 Td (" + text.encode("ascii") + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes() -> bytes:
    """A 1x1 RGB PNG."""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + _chunk(b"IEND", b""))


def _segment(marker: bytes, data: bytes) -> bytes:
    return b"\xff" + marker + struct.pack(">H", len(data) + 2) + data


def jpeg_bytes() -> bytes:
    """A baseline JFIF JPEG, 1x1 grey: SOI, APP0, DQT, SOF0, DHT (DC and AC), SOS, one block, EOI."""
    segment = _segment
    app0 = segment(b"\xe0", b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(b"\xdb", b"\x00" + bytes([1] * 64))
    sof0 = segment(b"\xc0", b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
    dht_dc = segment(b"\xc4", b"\x00" + bytes([1] + [0] * 15) + b"\x00")  # one code: category 0
    dht_ac = segment(b"\xc4", b"\x10" + bytes([1] + [0] * 15) + b"\x00")  # one code: end of block
    sos = segment(b"\xda", b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + app0 + dqt + sof0 + dht_dc + dht_ac + sos + b"\x00" + b"\xff\xd9"
