"""The lab's `SegmentProber`: probes leave a namespace wired the way the gateway switch is configured.

The switch simulators forward nothing, so the prober reads the gateway switch's running config (the
SVI address and the inbound ACL it really holds), rebuilds that segment on the lab data plane
(`lab.dataplane`) and probes from inside it. A push that left out the SVI or the ACL fails
the quality test here, as it would on site.

The product finds it by configuration only: the entry point ``spbe.segment_probers`` names it ``lab``, and
the settings file ``spbe lab up`` writes says ``network.prober = "lab"`` with this lab's folder and name as
its options (`lab.config_file`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from lab.dataplane import LabDataPlane, spec_from_running_config
from lab.models import subnet_index
from toolkit.adapter_options import AdapterOptions
from toolkit.network.inventory import NetworkInventory
from toolkit.network.plan import NetworkChange
from toolkit.network.quality import ProbeResult, ProbeTarget
from toolkit.settings import QualityThresholds


class LabProberOptions(AdapterOptions):
    """``network.prober_options`` of the ``lab`` prober: which running lab's data plane to probe on."""

    lab_dir: Path = Field(description="the labs' folder (spbe lab --lab-dir)")
    lab_name: str = Field(description="the lab's name (spbe lab up --name)")


class LabSegmentProber:
    Options = LabProberOptions

    def __init__(self, *, settings: Any, inventory: NetworkInventory, read_running_config: Callable[[str], str],
                 lab_dir: Path, lab_name: str) -> None:
        del settings  # the common constructor shape of probers; this one needs only its own options
        self.plane = LabDataPlane(Path(lab_dir), lab_name, subnet_index(lab_name))
        self.inventory = inventory
        self.read_running_config = read_running_config

    def probe(self, change: NetworkChange, targets: Sequence[ProbeTarget],
              thresholds: QualityThresholds) -> list[ProbeResult]:
        gateway = next(d.device for d in change.devices if d.gateway)
        spec = spec_from_running_config(self.read_running_config(gateway), change.vlan_id)
        if spec is None:
            reason = f"{gateway} has no active interface Vlan{change.vlan_id} with an address"
            return [ProbeResult(target=t, sent=thresholds.probes, received=0, error=reason) for t in targets]
        self.plane.ensure_up(self.inventory)
        self.plane.attach(spec)
        return self.plane.probe(change.vlan_id, targets, thresholds)

    def release(self, vlan_id: int) -> None:
        self.plane.detach(vlan_id)
