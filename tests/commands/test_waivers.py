"""Waiver commands on a real state directory: who may request (the requests-compliance-waivers trait) and
decide (approves-compliance-waivers, never the requester, whatever roles they hold), what is refused before
anything is stored (no reason, no or a past or too distant expiry, an unknown profile or rule, a malformed
target), and that every change and refusal is audited with how the person was authenticated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.support.clock import ManualClock
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands.waivers import decide_waiver, list_waivers, request_waiver, waiver_request
from toolkit.domain.catalog.loader import packaged_roles
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.settings import load_settings

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 WITA on 2 March; already 3 March nowhere west of it
ROLES = """
people:
  - {username: eko, name: Eko Prasetyo, roles: [tim-keamanan-spbe]}
  - {username: hendra, name: Hendra Gunawan, roles: [analis-sistem-informasi-jaringan]}
  - {username: kabid, name: Kepala Bidang TI, roles: [kepala-bidang-ti]}
  - {username: kadis, name: Kepala Dinas, roles: [kepala-dinas]}
  - {username: rangkap, name: Rangkap Jabatan, roles: [tim-keamanan-spbe, kepala-bidang-ti]}
  - {username: sari, name: Sari Wulandari, roles: [koordinator-layanan]}
"""


@pytest.fixture
def app(state_dir: Path, tmp_path: Path) -> Iterator[App]:
    roles = tmp_path / "roles.yml"
    roles.write_text(ROLES, encoding="utf-8")
    opened = App(load_settings(state_dir=state_dir, roles_file=roles, compliance={"timezone": "Asia/Makassar"}),
                 clock=ManualClock(NOW))
    yield opened
    opened.close()


def _req(**overrides: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {"profile": "server-dasar", "rule_id": "SD-SSH-02", "target": "pd-01",
                                 "reason": "Aplikasi SIMPEG lama masih memakai login sandi", "expires_on": "2026-06-30"}
    return waiver_request(**{**fields, **overrides})  # type: ignore[arg-type]


def _actions(app: App) -> list[tuple[str, str, str]]:
    return [(e.action, e.actor, e.data["auth"]) for e in app.audit.entries() if e.action.startswith("waiver.")]


def test_the_packaged_roles_give_the_traits_to_the_security_team_and_the_heads() -> None:
    roles = packaged_roles()
    assert roles.with_trait(RoleTrait.REQUESTS_COMPLIANCE_WAIVERS) == {"tim-keamanan-spbe",
                                                                       "analis-sistem-informasi-jaringan"}
    assert roles.with_trait(RoleTrait.APPROVES_COMPLIANCE_WAIVERS) == {"kepala-bidang-ti", "kepala-dinas"}


def test_request_then_approve_then_revoke(app: App) -> None:
    waiver = request_waiver(app, as_lab("eko"), _req())
    assert (waiver.id, waiver.status, waiver.requested_by) == ("W-0001", "requested", "eko")
    approved = decide_waiver(app, as_lab("kabid"), "W-0001", "approve")
    assert (approved.status, approved.decided_by, approved.decided_at) == ("approved", "kabid", NOW)
    with pytest.raises(ConflictError):
        decide_waiver(app, as_lab("kadis"), "W-0001", "approve")
    revoked = decide_waiver(app, as_lab("kadis"), "W-0001", "revoke", "Aplikasi sudah diganti")
    assert (revoked.status, revoked.decision_note) == ("revoked", "Aplikasi sudah diganti")
    assert [w.status for w in list_waivers(app)] == ["revoked"]
    assert _actions(app) == [("waiver.request", "eko", "lab-as"), ("waiver.approve", "kabid", "lab-as"),
                             ("waiver.revoke", "kadis", "lab-as")]


def test_the_requester_never_decides_even_holding_the_approving_role(app: App) -> None:
    request_waiver(app, as_lab("rangkap"), _req())
    for decision, note in (("approve", None), ("reject", "tidak perlu")):
        with pytest.raises(PermissionDeniedError, match="requested waiver W-0001 and may not decide it"):
            decide_waiver(app, as_lab("rangkap"), "W-0001", decision, note)  # type: ignore[arg-type]
    assert app.state.waivers.get("W-0001").status == "requested"
    assert _actions(app) == [("waiver.request", "rangkap", "lab-as"), ("waiver.approve.refused", "rangkap", "lab-as"),
                             ("waiver.reject.refused", "rangkap", "lab-as")]
    assert decide_waiver(app, as_lab("kabid"), "W-0001", "approve").status == "approved", "another head may"


def test_only_the_traits_request_and_decide(app: App) -> None:
    with pytest.raises(PermissionDeniedError, match="request compliance waivers"):
        request_waiver(app, as_lab("kabid"), _req())
    with pytest.raises(PermissionDeniedError):
        request_waiver(app, as_lab("orang-asing"), _req())  # not a person of the directory
    request_waiver(app, as_lab("hendra"), _req())
    with pytest.raises(PermissionDeniedError, match="decide compliance waivers"):
        decide_waiver(app, as_lab("eko"), "W-0001", "approve")
    with pytest.raises(PermissionDeniedError):
        decide_waiver(app, as_lab("sari"), "W-0001", "approve")
    assert [w.status for w in list_waivers(app)] == ["requested"]
    refused = [a for a, _, _ in _actions(app) if a.endswith(".refused")]
    assert refused == ["waiver.request.refused", "waiver.request.refused", "waiver.approve.refused",
                       "waiver.approve.refused"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"reason": ""}, "reason"),
    ({"reason": "          "}, "reason"),
    ({"reason": "pendek"}, "reason"),
    ({"expires_on": None}, "expires_on"),
    ({"expires_on": ""}, "expires_on"),
    ({"expires_on": "30-06-2026"}, "expires_on"),
    ({"target": "pd-01; rm -rf /"}, "target"),
    ({"target": "../etc/passwd"}, "target"),
    ({"rule_id": "sd-ssh-02"}, "rule_id"),
])
def test_malformed_requests_are_refused_before_anything(app: App, overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        request_waiver(app, as_lab("eko"), _req(**overrides))
    assert field in {f for f, _ in caught.value.details["errors"]}
    assert list_waivers(app) == [] and _actions(app) == []


@pytest.mark.parametrize(("overrides", "says"), [
    ({"profile": "tidak-ada"}, "no compliance profile 'tidak-ada'"),
    ({"rule_id": "JI-HTTP-01"}, "profile server-dasar has no rule 'JI-HTTP-01'"),
    ({"rule_id": "SD-XYZ-99"}, "has no rule"),
    ({"expires_on": "2026-03-01"}, "in the past (today is 2026-03-02)"),
    ({"expires_on": "2027-03-04"}, "more than a year ahead"),
    ({"reason": "Alasan\x00tersembunyi panjang"}, "reason"),
])
def test_requests_against_the_profiles_and_the_calendar_are_refused(app: App, overrides: dict[str, object],
                                                                     says: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(says)):
        request_waiver(app, as_lab("eko"), _req(**overrides))
    assert list_waivers(app) == []


def test_today_is_the_deployment_day(app: App) -> None:
    """23:30 WITA on 2 March: expiring today is still allowed, in the deployment's zone."""
    assert request_waiver(app, as_lab("eko"), _req(expires_on=date(2026, 3, 2))).expires_on == date(2026, 3, 2)
    assert request_waiver(app, as_lab("eko"), _req(expires_on="2027-03-03")).id == "W-0002"


def test_rejecting_or_revoking_needs_a_note_and_an_unknown_waiver_is_not_found(app: App) -> None:
    request_waiver(app, as_lab("eko"), _req())
    with pytest.raises(InvalidInputError, match="needs a written note"):
        decide_waiver(app, as_lab("kabid"), "W-0001", "reject")
    with pytest.raises(InvalidInputError):
        decide_waiver(app, as_lab("kabid"), "W-0001", "hapus")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        decide_waiver(app, as_lab("kabid"), "W-0099", "approve")
    with pytest.raises(PermissionDeniedError):
        decide_waiver(app, as_lab("eko"), "W-0099", "approve")  # no trait: refused before the id is looked up
    assert decide_waiver(app, as_lab("kabid"), "W-0001", "reject", "Risiko terlalu tinggi").status == "rejected"


def test_hostile_text_is_stored_as_data_and_template_syntax_refused(app: App) -> None:
    reason = "<script>alert(1)</script> **tebal** [tautan](http://x) | sel\nbaris kedua"
    waiver = request_waiver(app, as_lab("eko"), _req(reason=reason))
    assert app.state.waivers.get(waiver.id).reason == reason
    with pytest.raises(InvalidInputError, match="template syntax"):
        request_waiver(app, as_lab("eko"), _req(reason="Alasan {{ config.items() }} panjang"))
    with pytest.raises(InvalidInputError, match="template syntax"):
        decide_waiver(app, as_lab("kabid"), waiver.id, "reject", "{% for x in y %}")
    assert [w.id for w in list_waivers(app)] == [waiver.id]
