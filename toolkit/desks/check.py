"""`spbe desk check`: does the live desk hold what its mapping names, and may spbe's account act there?

The mapping was checked against spbe's own catalog and directory at start (`toolkit.desks.mapping`); what the
desk holds can change under it (a status renamed, a custom field deleted, the bot's membership removed), so
this asks the desk itself and lists every problem rather than stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from toolkit.desks.mapping import DeskMapping
from toolkit.ports.desk import DeskCapabilities, DeskClient


@dataclass
class CheckResult:
    desk: str
    account: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def compare(mapping: DeskMapping, caps: DeskCapabilities) -> list[str]:
    problems: list[str] = []
    if caps.account != mapping.bot:
        problems.append(f"bot: spbe is logged in as '{caps.account}', the mapping says '{mapping.bot}'")
    statuses = set(caps.statuses)
    fields = set(caps.fields)
    for index, route in enumerate(mapping.routes):
        if route.project not in caps.projects:
            problems.append(f"routes.{index}.project: '{route.project}' is not a project the bot can see")
        if route.tracker is not None and caps.trackers and route.tracker not in caps.trackers:
            problems.append(f"routes.{index}.tracker: '{route.tracker}' does not exist")
        if route.field is not None and route.field not in fields:
            problems.append(f"routes.{index}.field: '{route.field}' is not a field of the desk")
    for service_id, pairs in mapping.fields.items():
        for desk_field in pairs:
            # With form_in_description a field may live as a "Field: value" line of the description instead.
            if desk_field not in fields and not mapping.form_in_description:
                problems.append(f"fields.{service_id}.{desk_field}: not a field of the desk")
    for index, rule in enumerate(mapping.decisions):
        if rule.status_to is not None and rule.status_to not in statuses:
            problems.append(f"decisions.{index}.status_to: '{rule.status_to}' is not a status of the desk")
        if rule.missing_field is not None and rule.missing_field not in fields:
            problems.append(f"decisions.{index}.missing_field: '{rule.missing_field}' is not a field of the desk "
                            "(a return would fall back to the note's bullet lines)")
    for status, name in mapping.statuses.items():
        if name not in statuses:
            problems.append(f"statuses.{status.value}: '{name}' is not a status of the desk")
    problems += [f"rights: the bot lacks {missing}" for missing in caps.missing_rights]
    logins = {a.login: a for a in caps.accounts}
    for account in mapping.accounts:
        if account not in logins:
            problems.append(f"accounts.{account}: no such account in the desk's projects")
        elif not logins[account].active:
            problems.append(f"accounts.{account}: the account is locked")
    return problems


def check_desk(mapping: DeskMapping, client: DeskClient) -> CheckResult:
    caps = client.capabilities()
    return CheckResult(desk=mapping.name, account=caps.account, problems=compare(mapping, caps))
