"""Return for revision, resubmit and cancel through the CLI (the same commands the API calls): the roles,
the states they need, and a refusal leaving the ticket unchanged."""

from __future__ import annotations

from tests.support.cli import Spbe


def _open(spbe: Spbe) -> str:
    data = spbe.json("ticket", "open", "uji-mesin", "--as", "andi", "--title", "Uji", "-f", "instansi=Dinas Uji")
    return str(data["id"])


def test_return_resubmit_check(engine_env_spbe: Spbe) -> None:
    spbe = engine_env_spbe
    ticket = _open(spbe)
    assert spbe("ticket", "return", ticket, "--as", "andi", "--missing", "instansi", "--note", "x").exit_code == 4
    assert spbe("ticket", "return", ticket, "--as", "sari", "--missing", "nope", "--note", "x").exit_code == 2
    assert spbe("ticket", "return", ticket, "--as", "sari", "--missing", "instansi",
                "--note", "Nama instansi lengkap").exit_code == 0
    assert spbe.json("ticket", "show", ticket)["ticket"]["status"] == "deferred"
    assert spbe("ticket", "check", ticket, "--as", "sari").exit_code == 5  # waits on the applicant
    assert spbe("ticket", "resubmit", ticket, "--as", "budi", "--note", "x").exit_code == 4
    assert spbe("ticket", "resubmit", ticket, "--as", "andi", "--note", "Sudah").exit_code == 0
    assert spbe("ticket", "resubmit", ticket, "--as", "andi", "--note", "Lagi").exit_code == 5
    assert spbe("ticket", "check", ticket, "--as", "sari").exit_code == 0


def test_cancel_by_requester_or_koordinator_before_approval(engine_env_spbe: Spbe) -> None:
    spbe = engine_env_spbe
    first, second = _open(spbe), _open(spbe)
    assert spbe("ticket", "cancel", first, "--as", "budi", "--reason", "x").exit_code == 4
    assert spbe("ticket", "cancel", first, "--as", "andi", "--reason", "Tidak jadi").exit_code == 0
    assert spbe.json("ticket", "show", first)["ticket"]["status"] == "closed"
    assert spbe("ticket", "check", second, "--as", "sari").exit_code == 0
    assert spbe("ticket", "approve", second, "--as", "kadis", "--reason", "Setuju").exit_code == 0
    assert spbe("ticket", "cancel", second, "--as", "sari", "--reason", "Tidak jadi").exit_code == 5


import pytest  # noqa: E402

from tests.conftest import TEST_ACTIONS, TEST_CATALOG  # noqa: E402


@pytest.fixture
def engine_env_spbe(spbe: Spbe) -> Spbe:
    return spbe.with_env(SPBE_CATALOG_DIR=str(TEST_CATALOG), SPBE_EXTRA_ACTIONS='["' + '","'.join(TEST_ACTIONS) + '"]')
