"""Test actions for the engine's guarantees (exactly once, lease reclaim, outbox).

They are real actions run by the real engine; what they do is append one line per execution to
``<state_dir>/executions.log`` (with O_APPEND, so concurrent processes cannot lose a line), which is
how the tests count executions. ``jeda_detik`` in the ticket makes them slow enough to be killed.
"""

from __future__ import annotations

import os
import time
from collections import Counter

from toolkit.actions.base import ActionContext, ActionFacts, ActionPlan, ActionResult, BaseAction, RunContext


def executions_file(ctx: ActionContext) -> str:
    return str(ctx.settings.state_dir / "executions.log")


class CounterPlan(ActionPlan):
    sleep: int
    step: str


class CounterFacts(ActionFacts):
    pid: int


class CounterAction(BaseAction):
    Plan = CounterPlan
    Facts = CounterFacts

    def __init__(self, name: str, idempotent: bool) -> None:
        self.name = name
        self.idempotent = idempotent
        self.planned: Counter[tuple[str, str]] = Counter()  # (ticket, step): plan() calls in this process

    def plan(self, ctx: ActionContext) -> CounterPlan:
        self.planned[(ctx.ticket.id, ctx.step.id)] += 1
        return CounterPlan(action=self.name, sleep=int(ctx.ticket.fields.get("jeda_detik") or 0), step=ctx.step.id)

    def execute(self, ctx: ActionContext, plan: CounterPlan, run: RunContext) -> ActionResult:
        line = f"{ctx.ticket.id} {plan.step} job={run.job_id} attempt={run.attempt} pid={os.getpid()}\n"
        fd = os.open(executions_file(ctx), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, ("start " + line).encode())
        finally:
            os.close(fd)
        deadline = time.monotonic() + plan.sleep
        while time.monotonic() < deadline:
            if run.should_cancel():
                return ActionResult(ok=False, summary="canceled", comment="Dibatalkan.")
            time.sleep(0.05)
        fd = os.open(executions_file(ctx), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, ("done " + line).encode())
        finally:
            os.close(fd)
        run.log(f"counted {plan.step}")
        return ActionResult(ok=True, summary=f"counted {plan.step}", comment=f"Langkah {plan.step} selesai.",
                            facts=CounterFacts(pid=os.getpid()))


class NoopAction(BaseAction):
    """Does nothing: the queue-throughput benchmark measures the engine, not the action."""

    name = "test.noop"

    def plan(self, ctx: ActionContext) -> ActionPlan:
        return ActionPlan(action=self.name)

    def execute(self, ctx: ActionContext, plan: ActionPlan, run: RunContext) -> ActionResult:
        return ActionResult(ok=True, summary="noop", comment="noop")


COUNTER = CounterAction("test.counter", idempotent=True)
COUNTER_ONCE = CounterAction("test.counter_once", idempotent=False)
NOOP = NoopAction()


class InventoryFacts(ActionFacts):
    pool: list[tuple[str, str]]
    dc_gateway: str
    site_gateway: str
    csirt_cidrs: list[str]


class InventoryReadAction(BaseAction):
    """Reads the inventory the way the real actions do (pool hosts, VPN gateways, a containment target),
    from whichever worker thread runs it: for the test that runs eight of them at once."""

    name = "test.inventory_read"
    Facts = InventoryFacts

    def plan(self, ctx: ActionContext) -> ActionPlan:
        return ActionPlan(action=self.name)

    def execute(self, ctx: ActionContext, plan: ActionPlan, run: RunContext) -> ActionResult:
        from toolkit.containment.host import inventory_host
        from toolkit.host_pool import pool_hosts
        from toolkit.vpn.inventory import dc_gateway, site_gateway

        inventory = ctx.settings.effective_inventory()
        facts = InventoryFacts(pool=[(h.name, h.address) for h in pool_hosts(inventory)],
                               dc_gateway=dc_gateway(inventory).name,
                               site_gateway=site_gateway(inventory, "203.0.113.10").name,
                               csirt_cidrs=list(inventory_host(inventory, "pd-01").csirt_cidrs()))
        return ActionResult(ok=True, summary="inventory read", comment="Inventaris dibaca.", facts=facts)


INVENTORY_READER = InventoryReadAction()
