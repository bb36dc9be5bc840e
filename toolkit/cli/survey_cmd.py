"""`spbe survey answer|ikm`: the satisfaction survey (SKM) of a closed ticket and the index (IKM).

Thin: parse, call `toolkit.commands.survey`, render. ``answer`` takes the nine scores as ``--u1`` ..
``--u9`` (1..4); any left out are asked for one by one, with the element's name, when standard input is a
terminal (refused otherwise, exit 2). Logged in to a server (``spbe login``), the answer goes to its API
and the stored token is the identity, like the ticket commands. ``ikm`` prints a table per service (and
all together) of a period given in days of the deployment's zone, both ends included. Exit codes come
from the error classes (`toolkit.cli.main`): 2 invalid scores or comment, 3 unknown ticket, 4 not the
applicant, 5 not closed or already answered.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import click
from rich.table import Table

from toolkit.cli.render import emit_json, plain
from toolkit.cli.user_cmd import AS_OPTION, JSON_OPTION
from toolkit.errors import InvalidInputError, PermissionDeniedError
from toolkit.survey.ikm import ELEMENTS, IkmRow

MUTU_STYLE = {"A": "green", "B": "cyan", "C": "yellow", "D": "red"}


@click.group("survey")
def survey_group() -> None:
    """Satisfaction survey (SKM, Permenpan RB 14/2017): answer for a closed ticket, read the IKM."""


def _score_options(command: Any) -> Any:
    for code, name in reversed(list(ELEMENTS.items())):
        command = click.option(f"--{code.lower()}", code.lower(), default=None, metavar="1-4",
                               help=f"{code} {name}: 1 tidak baik .. 4 sangat baik.")(command)
    return command


def _ask_missing(given: dict[str, str | None]) -> dict[str, str | None]:
    missing = [code for code in ELEMENTS if given.get(code.lower()) is None]
    if not missing or not sys.stdin.isatty():
        return given  # the command layer names every missing score
    click.echo("Survei Kepuasan Masyarakat: nilai 1 (tidak baik), 2 (kurang baik), 3 (baik), 4 (sangat baik).")
    for code in missing:
        given[code.lower()] = click.prompt(f"{code} {ELEMENTS[code]}", type=click.Choice(["1", "2", "3", "4"]))
    return given


@survey_group.command("answer")
@click.argument("ticket_id")
@_score_options
@click.option("--comment", default=None, help="Saran atau masukan (optional, at most 2000 characters).")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def answer_cmd(obj, /, ticket_id, comment, actor, as_json, **scores) -> None:  # type: ignore[no-untyped-def]
    """Answer the satisfaction survey of closed ticket TICKET_ID (its applicant only, once)."""
    from toolkit.commands import survey

    parsed = survey.survey_scores(_ask_missing(dict(scores)))
    server = obj.remote
    if server is not None:
        if actor is not None:
            raise PermissionDeniedError(f"--as is not honoured against {server.server}: the stored token is the "
                                        "identity", user=actor)
        from toolkit.cli.remote_desk import ident

        body = {**parsed.model_dump(), "comment": comment}
        result = server.client.request("POST", f"/tickets/{quote(ident(ticket_id, 'ticket'), safe='')}/survey",
                                       json=body)
    else:
        result = survey.answer_survey(obj.app, obj.principal(actor), ticket_id, parsed, comment).model_dump(mode="json")
    if as_json:
        emit_json(obj.console, result)
        return
    obj.console.print(f"Terima kasih: survei kepuasan tiket {plain(ticket_id)} telah tersimpan.")


def _date(value: str | None, field: str) -> Any:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 - a calendar day, no instant
    except ValueError:
        raise InvalidInputError(f"invalid --{field}: a date YYYY-MM-DD", errors=[(field, "format")]) from None


def _row(table: Table, row: IkmRow, label: str) -> None:
    means = [f"{row.element_means[code]:.2f}" for code in ELEMENTS]
    table.add_row(plain(label), str(row.respondents), *means, f"{row.ikm:.2f}",
                  f"[{MUTU_STYLE[row.mutu]}]{row.mutu}[/]", plain(row.kinerja))


@survey_group.command("ikm")
@click.option("--service", default=None, help="Only this catalog service.")
@click.option("--from", "first", default=None, metavar="YYYY-MM-DD", help="First day (default: 1 January).")
@click.option("--to", "last", default=None, metavar="YYYY-MM-DD", help="Last day, included (default: 31 December).")
@JSON_OPTION
@click.pass_obj
def ikm_cmd(obj, service, first, last, as_json) -> None:  # type: ignore[no-untyped-def]
    """The IKM per service of the answers in a period: NRR per element (U1..U9), IKM (25..100), mutu, kinerja."""
    from toolkit.commands import survey

    start, end = survey.local_period(obj.app, _date(first, "from"), _date(last, "to"))
    rows, overall = survey.ikm_report(obj.app, start, end, service)
    if as_json:
        emit_json(obj.console, {"start": start.isoformat(), "end": end.isoformat(),
                                "services": [r.model_dump(mode="json") for r in rows],
                                "overall": overall.model_dump(mode="json") if overall else None})
        return
    title = f"Indeks Kepuasan Masyarakat {start.date().isoformat()} s.d. {(end - timedelta(days=1)).date().isoformat()}"
    if not rows:
        obj.console.print(f"{plain(title)}: belum ada responden.")
        return
    table = Table(title=title)
    for column in ("Layanan", "Responden", *ELEMENTS, "IKM", "Mutu", "Kinerja"):
        table.add_column(column, justify="right" if column not in ("Layanan", "Kinerja") else "left")
    for row in rows:
        _row(table, row, row.service_id)
    if overall is not None and len(rows) > 1:
        _row(table, overall, "Semua layanan")
    obj.console.print(table)
    obj.console.print(" ".join(f"{code} {name};" for code, name in ELEMENTS.items()).rstrip(";"))
