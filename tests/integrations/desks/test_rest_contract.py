"""The shared `DeskClient` contract (tests/contracts/desk_contract.py) on `RestDesk` against the reference
"Aplikasi Helpdesk SPBE" (lab/reference_desk.py), with the lab mapping's endpoints spec (lab/desks/rest.yml) and
the desk's real clock (the contract makes its own same-second cases). Nothing is marked as an expected failure:
the reference desk has custom fields, workflow rights and files, so every contract test applies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.reference_desk import ReferenceDesk
from tests.contracts.desk_contract import DeskContract, DeskHarness
from tests.integrations.desks.rest_rig import RestRig, settings_for


class TestRestDeskContract(DeskContract):
    @pytest.fixture
    def desk(self, tmp_path: Path) -> Iterator[DeskHarness]:
        reference = ReferenceDesk().start()
        rig = RestRig(reference, settings_for(reference, tmp_path), tmp_path)
        yield DeskHarness(**rig.harness())
        rig.close()
        reference.stop()
