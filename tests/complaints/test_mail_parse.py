"""The message parser on hostile bytes: a complaint or `MailRefused`, never a crash or half a complaint."""

from __future__ import annotations

import random

import pytest

from toolkit.complaints.mail import MailRefused, clean_text, html_to_text, parse

GOOD = (b"From: Warga <warga@example.com>\r\nTo: pengaduan@example.go.id\r\nSubject: =?utf-8?b?S2VsdWhhbg==?=\r\n"
        b"Message-ID: <p-1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIsi keluhan \xc3\xa9\r\n--XX\r\n"
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!bukan base64!!!\r\n--XX--\r\n")


def test_a_good_message() -> None:
    mail = parse(GOOD.replace(b"!!!bukan base64!!!", b"JVBERi0xLjQK"))
    assert mail.sender == "warga@example.com" and mail.subject == "Keluhan" and mail.body == "Isi keluhan é"
    assert mail.key == "mid:p-1@example.com"


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe" * 100,
    b"From: \xff\xfe@\xc3\x28\r\n\r\nx",
    b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
    b"From: a@example.com, b@example.com\r\n\r\nisi",
    b"From: a@example.com\r\nFrom: b@example.com\r\n\r\nisi",
    b"From: =?utf-8?q?=E2=80=AE?= <a@example.com>\r\nContent-Type: text/html\r\n\r\n<script>x</script>",
    GOOD,
])
def test_hostile_bytes_are_a_complaint_or_refused(raw: bytes) -> None:
    try:
        mail = parse(raw)
    except MailRefused:
        return
    assert mail.sender and "\x00" not in mail.body


def test_random_mutations_never_crash_the_parser() -> None:
    rng = random.Random(18)  # noqa: S311 - a reproducible fuzz, not cryptography
    for _ in range(300):
        raw = bytearray(GOOD)
        for _ in range(rng.randint(1, 12)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        try:
            parse(bytes(raw))
        except MailRefused:
            pass


def test_html_and_text_cleaning() -> None:
    assert html_to_text("<p>a</p><script>b</script><style>c</style><p>d &amp; e</p>") == "a\n\nd & e"
    assert clean_text("x\x1b[31m {{ y }} \u202e z\r\n") == "x\ufffd[31m { { y } } \ufffd z"
