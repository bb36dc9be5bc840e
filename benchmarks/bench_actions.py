"""Actions used only by the benchmarks: the trivial playbook through the real Ansible action path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.actions.ansible.pusat_data import AnsiblePlaybookAction
from toolkit.actions.base import ActionContext

HERE = Path(__file__).resolve().parent
TRIVIAL = HERE / "playbooks" / "trivial.yml"


class TrivialPlaybookAction(AnsiblePlaybookAction):
    name = "bench.playbook"
    playbook = str(TRIVIAL)  # absolute: Path(playbooks_dir) / absolute == absolute

    def target(self, ctx: ActionContext) -> tuple[str, str]:
        return "localhost", "127.0.0.1"

    def variables(self, ctx: ActionContext, host: str | None) -> dict[str, Any]:
        return {}


PLAYBOOK = TrivialPlaybookAction()
