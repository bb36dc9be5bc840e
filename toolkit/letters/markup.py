"""The document's own Markdown, turned into the HTML body of its PDF.

**Why from the Markdown** (and not an HTML template per document type): the Markdown attached to the
ticket is what people read and check; rendering the PDF from that very text means the two cannot disagree
on a fact (number, names, dates, table cells) and no document is written twice. The only parts the PDF
lays out on its own are the ones a letter needs and Markdown cannot express:

- the textual letterhead at the top of the Markdown (everything before its first rule, ``---``, when that
  comes before any heading) is replaced by the *kop surat* of the layout (logo, agency, address from
  settings);
- a *signature table* (a table with an empty row, for the hand or the signature, followed by a row of
  names in bold) becomes one signature block per column, with a stable id and a fixed signature space
  whose page and box the renderer reports (`toolkit.letters.render`).

markdown-it-py runs with raw HTML off and the templates escape every value (`toolkit.documents.md`), so a
ticket title such as ``<script>`` or ``{{ 7*7 }}`` reaches the PDF as the text it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

LEAD_MAX = 120  # a place-and-date line, "Mengetahui,": not a paragraph of the body
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


@dataclass
class SignatureColumn:
    """One signing party as its signature table gives it: the header (``PIHAK KEDUA``, ``Mengetahui,``),
    the lines above the signature space, the name (bold) and the lines below it."""

    label: str
    above: list[str] = field(default_factory=list)
    name: str = ""
    below: list[str] = field(default_factory=list)


@dataclass
class SignatureTable:
    """A signature table's columns and the short paragraph right before it (``Gorontalo, 27 November 2026``),
    kept on the same page as the signatures."""

    columns: list[SignatureColumn]
    lead: str = ""


@dataclass
class Body:
    """The body in document order: HTML chunks (str) and signature tables."""

    parts: list[str | SignatureTable]
    title: str | None = None


def _plain(token: Token) -> str:
    """The text of an inline token (emphasis dropped, entities decoded by the parser)."""
    return "".join(child.content for child in token.children or () if child.type in ("text", "code_inline"))


def _is_bold(token: Token) -> bool:
    kinds = [c.type for c in token.children or () if not (c.type == "text" and not c.content.strip())]
    return len(kinds) >= 3 and kinds[0] == "strong_open" and kinds[-1] == "strong_close"


def _rows(tokens: list[Token]) -> list[list[Token]]:
    """The rows of a table (header first) as lists of their cells' inline tokens."""
    rows: list[list[Token]] = []
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(token)
    return rows


def signature_columns(tokens: list[Token]) -> list[SignatureColumn] | None:
    """The columns of a signature table, or None for any other table."""
    rows = _rows(tokens)
    if len(rows) < 3:
        return None
    header, body = rows[0], rows[1:]
    empty = [i for i, row in enumerate(body) if all(not cell.content.strip() for cell in row)]
    if not empty:
        return None
    names = next((i for i in range(empty[0] + 1, len(body))
                  if i not in empty and all(_is_bold(c) or not c.content.strip() for c in body[i])
                  and any(_is_bold(c) for c in body[i])), None)
    if names is None:
        return None
    columns = []
    for col, cell in enumerate(header):
        def text(row: list[Token], col: int = col) -> str:
            return _plain(row[col]).strip() if col < len(row) else ""

        columns.append(SignatureColumn(
            label=_plain(cell).strip(),
            above=[t for t in (text(body[i]) for i in range(empty[0]) if i not in empty) if t],
            name=text(body[names]),
            below=[t for t in (text(body[i]) for i in range(names + 1, len(body)) if i not in empty) if t]))
    return columns


def _strip_kop(tokens: list[Token]) -> list[Token]:
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            return tokens
        if token.type == "hr":
            return tokens[index + 1:]
    return tokens


def parse(markdown: str) -> Body:
    """Split the Markdown into HTML chunks and signature tables; the first heading becomes the title."""
    env: dict[str, Any] = {}
    tokens = _strip_kop(_MD.parse(markdown, env))
    title = None
    if len(tokens) > 2 and tokens[0].type == "heading_open":
        tokens[0].attrSet("class", "judul-surat")
        title = _plain(tokens[1]).strip()
        if len(tokens) > 4 and tokens[3].type == "paragraph_open":
            tokens[3].attrSet("class", "nomor-surat")
    parts: list[str | SignatureTable] = []
    pending: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "table_open":
            end = next(i for i in range(index, len(tokens)) if tokens[i].type == "table_close")
            columns = signature_columns(tokens[index:end + 1])
            if columns is not None:
                lead: list[Token] = []
                if (len(pending) >= 3 and pending[-1].type == "paragraph_close" and pending[-3].type == "paragraph_open"
                        and len(pending[-2].content) <= LEAD_MAX):
                    pending, lead = pending[:-3], pending[-3:]
                if pending:
                    parts.append(_MD.renderer.render(pending, _MD.options, env))
                    pending = []
                parts.append(SignatureTable(columns, _MD.renderer.render(lead, _MD.options, env) if lead else ""))
                index = end + 1
                continue
        pending.append(token)
        index += 1
    if pending:
        parts.append(_MD.renderer.render(pending, _MD.options, env))
    return Body(parts=parts, title=title)
