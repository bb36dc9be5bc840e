"""What the service desk accepts, the gateway and containment steps accept too.

Boundary values of the SPLP fields go through intake (`toolkit.commands.desk.admit`, the desk's own entry
point, with the SPLP register check) and, when accepted, through the issuing action's request parsing
(`issue_request`); the incident services' ``objek_terdampak`` goes through the containment request
that isolating or inspecting the host builds from the raw field.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.boundaries import BASE, CATALOG, TICKET, action_context, boundary_values, intake
from toolkit.actions.gateway.splp import issue_request
from toolkit.containment.models import IsolateHostRequest
from toolkit.domain.principal import AuthMethod
from toolkit.errors import ToolkitError
from toolkit.settings import Settings
from toolkit.splp.apis import load_register

SPLP = CATALOG.get("splp")
SPLP_FIELDS = ("api_id", "aplikasi_konsumen", "kebutuhan_data", "rate_limit_per_menit", "jenis_kredensial")
REGISTER_IDS = [api.id for api in load_register(Settings().splp_register).apis]
SPLP_CASES = [(name, value) for name in SPLP_FIELDS
              for value in boundary_values(SPLP.requirements.field(name)) + (REGISTER_IDS if name == "api_id" else [])]
INCIDENT_CASES = [(service, value) for service in ("insiden-siber", "keamanan-informasi")
                  for value in boundary_values(CATALOG.get(service).requirements.field("objek_terdampak"))]


def _ids(cases: list[tuple[str, Any]]) -> list[str]:
    return [f"{a}={b!r}"[:60] for a, b in cases]


@pytest.mark.parametrize(("name", "value"), SPLP_CASES, ids=_ids(SPLP_CASES))
def test_an_splp_request_accepted_at_intake_reaches_the_gateway(name: str, value: Any) -> None:
    cleaned = intake(SPLP, BASE["splp"] | {name: value})
    if cleaned is None:
        return
    try:
        issue_request(action_context(SPLP, cleaned))
    except ToolkitError as exc:
        pytest.fail(f"{name}={value!r}: accepted at intake, refused after the provider's approval: {exc}")


def test_the_rate_limit_is_held_to_the_requested_apis_limit_at_intake() -> None:
    for api in load_register(Settings().splp_register).apis:
        base = BASE["splp"] | {"api_id": api.id}
        assert intake(SPLP, base | {"rate_limit_per_menit": str(api.max_rate_limit_per_minute)}) is not None
        assert intake(SPLP, base | {"rate_limit_per_menit": str(api.max_rate_limit_per_minute + 1)}) is None


@pytest.mark.parametrize(("service", "value"), INCIDENT_CASES, ids=_ids(INCIDENT_CASES))
def test_an_affected_object_accepted_at_intake_can_be_contained(service: str, value: Any) -> None:
    cleaned = intake(CATALOG.get(service), BASE[service] | {"objek_terdampak": value})
    if cleaned is None:
        return
    IsolateHostRequest(ticket_id=TICKET, actor="csirt", auth=AuthMethod.ENGINE, host=cleaned["objek_terdampak"],
                       reason="Langkah SOP")


@pytest.mark.parametrize("cases", [SPLP_CASES, INCIDENT_CASES], ids=["splp", "incident"])
def test_both_sides_of_every_field_are_probed(cases: list[tuple[str, Any]]) -> None:
    by_field: dict[str, set[bool]] = {}
    for key, value in cases:
        service, name = (SPLP, key) if cases is SPLP_CASES else (CATALOG.get(key), "objek_terdampak")
        accepted = intake(service, BASE[service.id] | {name: value}) is not None
        by_field.setdefault(key, set()).add(accepted)
    assert all(outcomes == {True, False} for outcomes in by_field.values()), by_field
