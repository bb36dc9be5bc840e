"""`spbe compliance waiver request|approve|reject|revoke|list` through the real CLI, with the packaged roles
file: eko (Tim Keamanan SPBE) requests, kabid (Kepala Bidang TI) approves, kadis (Kepala Dinas) revokes;
exit codes by error class (2 invalid, 3 not found, 4 not allowed, 5 already decided); the table shows the
deployment's zone, ``--json`` UTC instants."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.cli import Spbe
from toolkit.bootstrap import App
from toolkit.settings import load_settings

WIB = ZoneInfo("Asia/Jakarta")  # the default settings.compliance.timezone
REASON = "Aplikasi SIMPEG lama masih memakai login sandi"


def _expires(days: int = 30) -> str:
    return (datetime.now(WIB).date() + timedelta(days=days)).isoformat()


def request(spbe: Spbe, *extra: str, actor: str = "eko", rule: str = "SD-SSH-02", reason: str | None = REASON,
            expires: str | None = None):  # type: ignore[no-untyped-def]
    args = ["compliance", "waiver", "request", "--profile", "server-dasar", "--rule", rule, "--target", "pd-01",
            "--as", actor]
    if reason is not None:
        args += ["--reason", reason]
    args += ["--expires", expires or _expires()] if expires != "" else []
    return spbe(*args, *extra)


def test_request_approve_revoke_and_list(spbe: Spbe, state_dir: Path) -> None:
    [requested] = spbe.json(*("compliance", "waiver", "request", "--profile", "server-dasar", "--rule", "SD-SSH-02",
                              "--target", "pd-01", "--reason", REASON, "--expires", _expires(), "--as", "eko"))
    assert (requested["id"], requested["status"], requested["requested_by"]) == ("W-0001", "requested", "eko")
    assert requested["requested_at"].endswith("Z")
    [approved] = spbe.json("compliance", "waiver", "approve", "W-0001", "--as", "kabid")
    assert (approved["status"], approved["decided_by"]) == ("approved", "kabid")
    again = spbe("compliance", "waiver", "approve", "W-0001", "--as", "kadis")
    assert again.exit_code == 5, again.output
    table = spbe("compliance", "waiver", "list", env={"COLUMNS": "220"})
    assert table.exit_code == 0 and "W-0001" in table.stdout and "approved" in table.stdout
    assert "WIB" in table.stdout, table.stdout
    revoked = spbe("compliance", "waiver", "revoke", "W-0001", "--note", "Aplikasi sudah diganti", "--as", "kadis")
    assert revoked.exit_code == 0, revoked.output
    assert [w["status"] for w in spbe.json("compliance", "waiver", "list", "--profile", "server-dasar")] == ["revoked"]
    assert spbe.json("compliance", "waiver", "list", "--target", "pd-02") == []
    app = App(load_settings(state_dir=state_dir))
    assert [e.action for e in app.audit.entries() if e.action.startswith("waiver.")] == [
        "waiver.request", "waiver.approve", "waiver.revoke"]


def test_exit_codes_by_error_class(spbe: Spbe) -> None:
    assert request(spbe).exit_code == 0
    assert spbe("compliance", "waiver", "approve", "W-0001", "--as", "eko").exit_code == 4, "the requester"
    assert spbe("compliance", "waiver", "approve", "W-0001", "--as", "sari").exit_code == 4, "no trait"
    assert request(spbe, actor="sari").exit_code == 4
    assert spbe("compliance", "waiver", "approve", "W-0099", "--as", "kabid").exit_code == 3
    assert spbe("compliance", "waiver", "reject", "W-0001", "--as", "kabid").exit_code == 2, "no note"
    assert spbe("compliance", "waiver", "reject", "W-0001", "--note", "Risiko tinggi", "--as", "kabid").exit_code == 0


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"reason": None}, "needs a written reason"),
    ({"expires": ""}, "needs an expiry date"),
    ({"expires": "2020-01-01"}, "in the past"),
    ({"expires": "kapan-kapan"}, "expires_on"),
    ({"rule": "SD-TIDAK-ADA"}, "has no rule"),
])
def test_bad_requests_are_exit_2_and_store_nothing(spbe: Spbe, kwargs: dict[str, str | None], says: str) -> None:
    refused = request(spbe, **kwargs)  # type: ignore[arg-type]
    assert refused.exit_code == 2, refused.output
    assert says in refused.output
    assert spbe.json("compliance", "waiver", "list") == []


def test_hostile_reason_is_shown_as_text(spbe: Spbe) -> None:
    reason = "[bold red]palsu[/] <script>alert(1)</script> alasan"
    assert request(spbe, reason=reason).exit_code == 0
    table = spbe("compliance", "waiver", "list", env={"COLUMNS": "250"})
    assert "[bold red]palsu[/]" in table.stdout, table.stdout
    assert spbe.json("compliance", "waiver", "list")[0]["reason"] == reason
