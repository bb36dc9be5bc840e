"""Secrets are masked wherever text leaves the toolkit, including exception messages of actions."""

from __future__ import annotations

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.engine.helpers import approved_ticket
from toolkit.actions.base import ActionContext, ActionPlan, ActionResult, BaseAction, RunContext
from toolkit.bootstrap import App
from toolkit.engine.server import run_ticket
from toolkit.masking import MASK, Masker, last4
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings

CANARY = "CANARY-leak-2b8e6f0a91"  # noqa: S105 - searched for in every output


class LeakyAction(BaseAction):
    """An action with a bug: it puts the secret into its log line and its exception."""

    name = "test.counter"

    def plan(self, ctx: ActionContext) -> ActionPlan:
        return ActionPlan(action=self.name)

    def execute(self, ctx: ActionContext, plan: ActionPlan, run: RunContext) -> ActionResult:
        secret = ctx.settings.secret("backup_password")
        run.mask.add(secret)
        run.log(f"connecting with password={secret.get_secret_value()} to the target")
        raise RuntimeError(f"authentication failed for secret {secret.get_secret_value()}")


LEAKY = LeakyAction()


def test_masker_replaces_secrets_and_key_value_pairs():
    masker = Masker([CANARY])
    assert masker(f"x {CANARY} y") == f"x {MASK} y"
    assert masker("token: abcdef123") == f"token: {MASK}"
    assert last4("abcdefghijkl") == MASK + "ijkl"


def test_a_leaky_action_leaks_nothing(state_dir, monkeypatch):
    monkeypatch.setenv("SPBE_BACKUP_PASSWORD", CANARY)
    app = App(load_settings(state_dir=state_dir, catalog_dir=TEST_CATALOG,
                            extra_actions=(*TEST_ACTIONS, "tests.toolkit.test_masking:LEAKY")))
    ticket_id = approved_ticket(app)
    jobs = run_ticket(app, ticket_id)
    assert [j.state for j in jobs] == [JobState.FAILED]
    assert "authentication failed" in (jobs[0].error or "")
    texts = [jobs[0].error or "", str(jobs[0].result)]
    texts += [line for _, line in app.queue.logs(jobs[0].id)]
    texts += [e.text + str(e.data) for e in app.tickets.timeline(ticket_id)]
    texts += [str(e.data) for e in app.audit.entries()]
    assert any("authentication failed" in t for t in texts)
    assert not [t for t in texts if CANARY in t]
    leaks = [p for p in state_dir.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert leaks == []
