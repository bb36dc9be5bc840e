"""`toolkit.at_rest`: envelope encryption of attachments and evidence (AES-256-GCM, a data key per object).

Round trip, every region of a blob tampered with, the context binding, another key, a missing or malformed
key (a `ConfigurationError` naming the setting, never the key itself), and a key rotation that re-wraps
the data key without touching the content."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from toolkit.at_rest import HEADER, MAGIC, OVERHEAD, SETTING, Sealer, is_sealed, open_artifact
from toolkit.errors import ConfigurationError, IntegrityError
from toolkit.settings import Settings
from toolkit.vault import generate_key

PLAIN = b"CANARY-lampiran-3f9a2c71 NIK 7501234567890001\n" * 50
CONTEXT = b"attachment\0SPBE-2026-00001\0ktp.pdf"


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def sealer(key: str) -> Sealer:
    return Sealer(SecretStr(key))


def test_round_trip_hides_the_plaintext_and_never_repeats(sealer: Sealer) -> None:
    one, two = sealer.seal(PLAIN, CONTEXT), sealer.seal(PLAIN, CONTEXT)
    assert is_sealed(one) and one.startswith(MAGIC) and len(one) == len(PLAIN) + OVERHEAD
    assert b"CANARY" not in one and PLAIN[:16] not in one
    assert one != two  # a fresh data key and nonce per object
    assert sealer.open(one, CONTEXT) == sealer.open(two, CONTEXT) == PLAIN
    assert sealer.seal(b"", CONTEXT) != b"" and sealer.open(sealer.seal(b"", CONTEXT), CONTEXT) == b""


def test_plaintext_of_older_versions_is_returned_as_it_is(sealer: Sealer) -> None:
    assert not is_sealed(PLAIN)
    assert sealer.open_any(PLAIN, CONTEXT) == PLAIN
    assert sealer.open_any(sealer.seal(PLAIN, CONTEXT), CONTEXT) == PLAIN


@pytest.mark.parametrize("offset", [len(MAGIC) + 8, len(MAGIC) + 8 + 12, HEADER - 12, HEADER, HEADER + 100, -1],
                         ids=["wrap-nonce", "wrapped-key", "nonce", "ciphertext", "ciphertext-middle", "tag"])
def test_a_changed_byte_anywhere_after_the_key_id_is_an_integrity_error(sealer: Sealer, offset: int) -> None:
    blob = bytearray(sealer.seal(PLAIN, CONTEXT))
    blob[offset] ^= 0x01
    with pytest.raises(IntegrityError) as caught:
        sealer.open(bytes(blob), CONTEXT, what="attachment 'ktp.pdf'")
    assert caught.value.exit_code == 9 and "ktp.pdf" in str(caught.value)


def test_a_truncated_blob_and_another_context_do_not_open(sealer: Sealer) -> None:
    blob = sealer.seal(PLAIN, CONTEXT)
    for broken in (blob[:HEADER], blob[:-1], MAGIC):
        with pytest.raises(IntegrityError):
            sealer.open(broken, CONTEXT)
    with pytest.raises(IntegrityError):  # copied to another ticket's row
        sealer.open(blob, b"attachment\0SPBE-2026-00002\0ktp.pdf")


def test_another_key_is_a_configuration_error_that_names_the_setting_and_no_key(key: str, sealer: Sealer) -> None:
    other_key = generate_key()
    blob = sealer.seal(PLAIN, CONTEXT)
    with pytest.raises(ConfigurationError) as caught:
        Sealer(SecretStr(other_key)).open(blob, CONTEXT)
    text = f"{caught.value} {caught.value!r} {caught.value.details}"
    assert caught.value.exit_code == 8 and SETTING in text
    assert key not in text and other_key not in text
    assert key not in repr(sealer) and key not in str(sealer.__slots__)


@pytest.mark.parametrize("bad", ["", "pendek", "CANARY-not-base64-!!!!", "QUFBQQ==", "Q0FOQVJZ" * 5 + "Q0FOQVI=AAAA"],
                         ids=["empty", "short", "not-base64", "4-bytes", "trailing-data"])
def test_a_malformed_key_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Sealer(SecretStr(bad))
    assert SETTING in str(caught.value) and "spbe secret keygen" in str(caught.value)
    if bad:
        assert bad not in str(caught.value) and bad not in repr(caught.value.details)


def test_a_missing_key_names_the_setting_and_where_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPBE_VAULT_KEY", raising=False)
    with pytest.raises(ConfigurationError, match=r"settings\.vault\.key.*set SPBE_VAULT_KEY \(env:SPBE_VAULT_KEY\)"):
        Sealer.from_settings(Settings(state_dir=tmp_path))
    missing_file = tmp_path / "no-such-key"
    settings = Settings(state_dir=tmp_path, vault={"key": {"ref": f"file:{missing_file}"}})
    with pytest.raises(ConfigurationError, match="no-such-key"):
        Sealer.from_settings(settings)


def test_the_data_key_is_derived_so_the_vault_key_itself_never_encrypts_content(key: str, sealer: Sealer) -> None:
    """HKDF with its own label: a blob's content does not open with the raw vault key as the wrapping key."""
    import base64

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    blob = sealer.seal(PLAIN, CONTEXT)
    at = len(MAGIC) + 8
    with pytest.raises(InvalidTag):
        AESGCM(base64.urlsafe_b64decode(key)).decrypt(blob[at:at + 12], blob[at + 12:at + 60], blob[:at])


def test_rotation_rewraps_the_data_key_and_leaves_the_content_alone(sealer: Sealer) -> None:
    new = Sealer(SecretStr(generate_key()))
    blob = sealer.seal(PLAIN, CONTEXT)
    moved = sealer.rewrap(blob, new)
    assert moved[HEADER - 12:] == blob[HEADER - 12:]  # nonce, ciphertext and tag unchanged
    assert new.open(moved, CONTEXT) == PLAIN
    with pytest.raises(ConfigurationError):
        sealer.open(moved, CONTEXT)


def test_files_are_replaced_atomically_and_owner_only(sealer: Sealer, tmp_path: Path) -> None:
    path = tmp_path / "bukti.log"
    path.write_bytes(PLAIN)
    assert sealer.seal_file(path, CONTEXT) and not sealer.seal_file(path, CONTEXT)  # once
    assert path.stat().st_mode & 0o077 == 0 and b"CANARY" not in path.read_bytes()
    assert sealer.read_file(path, CONTEXT) == PLAIN
    assert [p.name for p in tmp_path.iterdir()] == ["bukti.log"]  # no temporary file left
    tree = tmp_path / "run"
    (tree / "artifacts" / "run" / "job_events").mkdir(parents=True)
    (tree / "artifacts" / "run" / "job_events" / "1-ok.json").write_bytes(b'{"stdout": "CANARY"}')
    (tree / "link").symlink_to(path)
    assert sealer.seal_tree(tree) == 1
    assert b"CANARY" not in (tree / "artifacts" / "run" / "job_events" / "1-ok.json").read_bytes()


def test_a_sealed_job_file_is_attached_in_clear(sealer: Sealer, key: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_VAULT_KEY", key)
    settings = Settings(state_dir=tmp_path)
    from toolkit.at_rest import ARTIFACT

    assert open_artifact(sealer.seal(PLAIN, ARTIFACT), settings, "bukti.tar.gz") == PLAIN
    assert open_artifact(PLAIN, settings, "berita_acara.md") == PLAIN
    monkeypatch.delenv("SPBE_VAULT_KEY")
    assert open_artifact(PLAIN, settings, "berita_acara.md") == PLAIN  # a plaintext file needs no key
    with pytest.raises(ConfigurationError, match="SPBE_VAULT_KEY"):
        open_artifact(sealer.seal(PLAIN, ARTIFACT), settings, "bukti.tar.gz")
