"""One page of a ticket list ("Tiket saya", or every ticket for Diskominfo's people), newest first.

A ticket system with `TicketSearch` (the embedded store) answers the page itself from its indexes; for
one without it, the requester filter and the paging are done here over `list_tickets`. Rows are redacted
for the viewer (a confidential reporter's username is hidden on a staff list). The benchmark
``benchmarks/bench_portal.py`` holds this page to its budget with 20 000 tickets in the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from toolkit.domain.confidentiality import redact_ticket
from toolkit.domain.tickets.models import Ticket, TicketStatus
from toolkit.engine.services import EngineServices
from toolkit.ports.tickets import TicketSearch


@dataclass(frozen=True)
class Page:
    tickets: list[Ticket]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page(app: EngineServices, *, requester: str | None, status: str | None, service_id: str | None, number: int,
         size: int, viewer_roles: Iterable[str]) -> Page:
    try:
        service = app.catalog.get(service_id) if service_id else None
    except Exception:  # noqa: BLE001 - an unknown service in the query string lists nothing
        return Page([], 1, size, 0)
    wanted = TicketStatus(status) if status else None
    if isinstance(app.tickets, TicketSearch):
        chosen, total = app.tickets.find_tickets(requester=requester, status=wanted,
                                                 service_id=service.id if service else None,
                                                 offset=(number - 1) * size, limit=size)
        if not chosen and total and number > 1:  # past the last page: show the last one
            return page(app, requester=requester, status=status, service_id=service_id,
                        number=-(-total // size), size=size, viewer_roles=viewer_roles)
    else:
        found = app.tickets.list_tickets(status=wanted, service_id=service.id if service else None)
        if requester is not None:
            found = [t for t in found if t.requester == requester]
        total = len(found)
        number = min(number, max(1, -(-total // size)))
        start = total - number * size
        chosen = found[max(0, start):start + size][::-1]  # the store answers oldest first
    roles = frozenset(viewer_roles)
    book = app.catalog.roles
    return Page([redact_ticket(book, app.catalog.get(t.service_id), t, roles) for t in chosen], number, size, total)
