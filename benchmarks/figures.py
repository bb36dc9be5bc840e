"""The table every benchmark ends with: one row per figure, its target and what was measured, so the
README's table can be copied from any of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

COLUMNS = ("figure", "target", "measured")


def print_figures(title: str, rows: Iterable[Sequence[str]], columns: Sequence[str] = COLUMNS) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)
