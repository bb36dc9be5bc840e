"""The SSH client's cheaper paths give the answers of the paths they replace: the indexed known_hosts
lookup (plain and hashed entries, first entry of a type wins, a changed file is read again), the MAC
comparison paramiko now uses, the read-ahead socket's byte stream."""

from __future__ import annotations

import hmac
import os
import socket
from pathlib import Path

import paramiko
import paramiko.util

from toolkit.ssh import mac_check
from toolkit.ssh.known_hosts import KnownHosts, known_hosts
from toolkit.ssh.read_ahead import ReadAheadSocket


def _key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def test_known_hosts_answers_as_paramiko(tmp_path: Path) -> None:
    a, b, c = _key(), _key(), _key()
    hashed = paramiko.HostKeys.hash_host("[127.0.0.1]:2201")
    path = tmp_path / "known_hosts"
    path.write_text(
        f"[127.0.0.1]:2200 {a.get_name()} {a.get_base64()}\n"
        f"{hashed} {b.get_name()} {b.get_base64()}\n"
        f"[127.0.0.1]:2200,[127.0.0.1]:2202 {c.get_name()} {c.get_base64()}\n"  # a second key of one type
        "# a comment\n",
        encoding="utf-8",
    )
    ours, theirs = KnownHosts(path), paramiko.HostKeys(str(path))
    for host in ("[127.0.0.1]:2200", "[127.0.0.1]:2201", "[127.0.0.1]:2202", "[127.0.0.1]:2203", "127.0.0.1"):
        expected = theirs.lookup(host)
        assert ours.trusted(host, a.get_name()) == (expected.get(a.get_name()) if expected else None), host
        assert ours.trusted(host, "ssh-ed25519") is None
    assert ours.trusted("[127.0.0.1]:2200", a.get_name()) == a  # the first entry of the type, as paramiko
    assert ours.trusted("[127.0.0.1]:2201", a.get_name()) == b  # found through its hashed name


def test_a_changed_known_hosts_is_read_again(tmp_path: Path) -> None:
    a, b = _key(), _key()
    path = tmp_path / "known_hosts"
    path.write_text(f"[127.0.0.1]:2200 {a.get_name()} {a.get_base64()}\n", encoding="utf-8")
    assert known_hosts(path).trusted("[127.0.0.1]:2200", a.get_name()) == a
    path.write_text(f"[127.0.0.1]:2200 {b.get_name()} {b.get_base64()}\n# longer\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))
    assert known_hosts(path).trusted("[127.0.0.1]:2200", a.get_name()) == b


def test_mac_comparison_is_the_constant_time_one_and_answers_the_same() -> None:
    mac_check.install()
    assert paramiko.util.constant_time_bytes_eq is hmac.compare_digest
    for x, y in ((b"a" * 32, b"a" * 32), (b"a" * 32, b"a" * 31 + b"b"), (b"a" * 32, b"a" * 20), (b"", b"")):
        assert paramiko.util.constant_time_bytes_eq(x, y) == (x == y)


def test_read_ahead_keeps_the_byte_stream() -> None:
    left, right = socket.socketpair()
    with left, right:
        wrapped = ReadAheadSocket(left)
        wrapped.settimeout(2)
        payload = bytes(range(256)) * 300  # more than one read-ahead chunk
        right.sendall(payload)
        got = b""
        sizes = [1, 4, 16, 4096, 7, 100000]
        while len(got) < len(payload):
            chunk = wrapped.recv(sizes[len(got) % len(sizes)])
            assert chunk and len(chunk) <= max(sizes)
            got += chunk
        assert got == payload
        wrapped.send(b"back")
        assert right.recv(4) == b"back"
        right.close()
        assert wrapped.recv(10) == b""  # the peer's close reaches paramiko as before
    assert wrapped._closed
