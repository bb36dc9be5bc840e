"""Test actions for the engine's guarantees (exactly once, lease reclaim, outbox).

They are real actions run by the real engine; what they do is append one line per execution to
``<state_dir>/executions.log`` (with O_APPEND, so concurrent processes cannot lose a line), which is
how the tests count executions. ``jeda_detik`` in the ticket makes them slow enough to be killed.
"""

from __future__ import annotations

import logging
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


class AllocationFacts(ActionFacts):
    host: str | None
    vlan_id: int
    subnet: str
    ports: list[str]
    tunnel_slot: int
    pid: int


class AllocateAction(BaseAction):
    """Takes what the real actions take when they run, through the same allocators and keys (ticket,
    step): a pool host (None once the pool is empty), a VLAN, subnet and access port at the lab's
    ``dinkes`` site (its sites on stand-in switches), and a tunnel slot on the DC gateway.
    ``jeda_detik`` keeps the job running a while after, so two `spbe serve` processes share the tickets."""

    name = "test.allocate"
    Facts = AllocationFacts

    def plan(self, ctx: ActionContext) -> ActionPlan:
        return ActionPlan(action=self.name)

    def execute(self, ctx: ActionContext, plan: ActionPlan, run: RunContext) -> ActionResult:
        import ipaddress

        from tests.network.netlab import lab_sites
        from toolkit.actions.ansible.pusat_data import HostNeed, allocate_pool_host
        from toolkit.errors import ConflictError
        from toolkit.network.allocation import DeviceObservation, SiteObservation, allocate_segment
        from toolkit.vpn.inventory import allocate_slot, dc_gateway

        settings, ticket, step, state = ctx.settings, ctx.ticket.id, ctx.step.id, run.services.state
        try:
            host: str | None = allocate_pool_host(settings, state.hosts, ticket, step,
                                                  HostNeed(vcpu=1, ram_gb=1, disk_gb=1)).name
        except ConflictError:
            host = None
        observed = SiteObservation(site="dinkes", devices=(DeviceObservation(device="sw-dinkes-01", vlans=(1,)),))
        segment = allocate_segment(state.segments, ticket, lab_sites(), observed, users=4)
        lan = ipaddress.IPv4Network(f"192.168.{int(ticket.rsplit('-', 1)[1])}.0/24")
        slot = allocate_slot(state.tunnels, ticket, dc_gateway(settings.effective_inventory()), lan, step)
        time.sleep(int(ctx.ticket.fields.get("jeda_detik") or 0))
        facts = AllocationFacts(host=host, vlan_id=segment.vlan_id, subnet=str(segment.subnet),
                                ports=[p for ports in segment.ports.values() for p in ports], tunnel_slot=slot,
                                pid=os.getpid())
        return ActionResult(ok=True, summary="allocated", comment="Sumber daya dialokasikan.", facts=facts)


ALLOCATOR = AllocateAction()


class LeakyCounterAction(CounterAction):
    """The counter with a bug: it writes the backup password into its output and into a log record,
    plainly (no ``password=`` for the key-value rule to catch): only the masker's own list of secrets
    stands between it and the logs. Registered after `COUNTER`, it takes over ``test.counter``."""

    def execute(self, ctx: ActionContext, plan: CounterPlan, run: RunContext) -> ActionResult:
        secret = ctx.settings.secret("backup_password")
        run.mask.add(secret)  # as the real actions do when they resolve a secret
        run.log(f"connecting to the backup target with {secret.get_secret_value()}")
        logging.getLogger("tests.leaky").warning("library says: bad credential %s", secret.get_secret_value())
        return super().execute(ctx, plan, run)


LEAKY_COUNTER = LeakyCounterAction("test.counter", idempotent=True)
