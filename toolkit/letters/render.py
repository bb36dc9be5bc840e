"""The PDF of a document: its Markdown (`toolkit.letters.markup`) inside the letter layout of ``templates/pdf/``,
laid out by WeasyPrint.

Built once per process by the composition root (`App.letters`): the layout templates, the stylesheet, the
fonts and the logo are prepared once, so a document costs its own layout only. WeasyPrint fetches nothing:
the logo is inlined as a data URI and every other scheme is refused (``file:``, ``http:``...), so a document can
never read a local file or reach the network. Layouts run one at a time per process (a lock): the font
configuration and the fetcher are shared, WeasyPrint does not document them as thread-safe, and the work is
Python-bound under the GIL anyway.

**Signature blocks.** Each signing party gets a block with a stable id (``ttd-<role>``, e.g. ``ttd-pemohon``,
``ttd-kepala-dinas``; ``ttd-<n>`` for a column no known party matches) whose empty space is where a visible
signature goes. `RenderedPdf.signatures` gives, for each, the page (1-based) and the box in PDF points with
the origin at the page's lower-left corner (what a PDF signature field's rectangle uses: pyHanko's
``SigFieldSpec(box=(x, y, x + width, y + height))``), read from WeasyPrint's layout (the anchors of the
page), plus the party's name, NIP, role and username. They are listed in signing order: the roles the SOP
step names (its participants, then its actor) first, the other parties (*Mengetahui*) after, in reading order.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from toolkit.errors import ConfigurationError
from toolkit.letters.config import DocumentSettings, load_logo
from toolkit.letters.markup import SignatureColumn, SignatureTable, parse
from toolkit.letters.models import RenderedPdf, SignatureBox

PX_TO_PT = 0.75  # WeasyPrint lays out in CSS pixels (96 per inch); PDF points are 72 per inch


@dataclass
class _Block:
    id: str
    label: str
    di_atas: list[str]
    nama: str
    nip: str | None
    di_bawah: list[str]
    peran: str | None
    username: str | None


def _username(person: Mapping[str, Any]) -> str | None:
    """Who signs, for the signing step: only a person the directory knows (not a dotted line for an unfilled
    role, not a confidential reporter's ``[dirahasiakan]``)."""
    known = person.get("dikenal", False) and person.get("ditetapkan", False)
    return str(person["username"]) if known and person.get("username") else None


def _is_person(value: Any) -> bool:
    return isinstance(value, Mapping) and {"nama", "username", "jabatan"} <= value.keys()


def _parties(context: Mapping[str, Any], applicant_role: str | None) -> list[Party]:
    """(role id, person dict) of everyone who may sign, from `toolkit.document_context.build_context`'s person
    records: the ticket's requester (a person record of its own, holding ``applicant_role``) first, then each
    role's first holder (a mapping of role id to person record). The holder of the applicant role is not this
    ticket's requester, so it is left out; no key is named here, the catalog's ids stay in the catalog."""
    found: list[Party] = []
    roles: list[Party] = []
    for value in context.values():
        if _is_person(value):
            found.append((applicant_role, value))
        elif isinstance(value, Mapping) and value and all(_is_person(v) for v in value.values()):
            roles += [(str(role), person) for role, person in value.items() if role != applicant_role]
    return found + roles


Party = tuple[str | None, Mapping[str, Any]]


def _match(column: SignatureColumn, parties: list[Party], taken: set[int]) -> int | None:
    """The index of the party whose name the column prints; of several (unassigned roles share a dotted line,
    one person may hold two roles) the one whose role the column's words name. None: nobody known."""
    candidates = [i for i, (_, person) in enumerate(parties)
                  if i not in taken and str(person.get("nama", "")).strip() == column.name]
    if not candidates:
        return None
    words = " ".join([column.label, *column.above, *column.below]).lower()

    def score(index: int) -> int:
        role, person = parties[index]
        label = str(person.get("peran") or "").lower()
        return (2 if label and label in words else 0) + (1 if role and role.replace("-", " ") in words else 0)

    return max(candidates, key=score)  # max keeps the first of equals: the requester, then role order


class PdfRenderer:
    def __init__(self, templates_dir: Path, settings: DocumentSettings) -> None:
        self.settings = settings
        folder = Path(templates_dir) / "pdf"
        self._env = SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(folder), encoding="utf-8"),
                                         undefined=jinja2.StrictUndefined, autoescape=True,
                                         trim_blocks=True, lstrip_blocks=True)
        try:
            self._layout = self._env.get_template("surat.html.j2")
            css_text = self._env.get_template("surat.css.j2").render()
        except jinja2.TemplateError as exc:
            raise ConfigurationError(f"PDF layout in {folder}: {exc}", directory=str(folder)) from None
        self._fonts = FontConfiguration()
        self._fetcher = URLFetcher(allowed_protocols=("data",))  # the inlined logo; nothing else is fetched
        self._lock = threading.Lock()
        self._css = CSS(string=css_text, font_config=self._fonts)
        self._logo: str | None = None
        if settings.logo is not None:
            try:
                media, data = load_logo(settings.logo, settings.logo_max_bytes)
            except ValueError as exc:
                raise ConfigurationError(f"settings.documents.logo: {exc}") from None
            self._logo = f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"
        kop = settings.kop
        self._kontak = [text for text in (f"Telepon {kop.telepon}" if kop.telepon else "",
                                          f"Pos-el {kop.email}" if kop.email else "",
                                          f"Laman {kop.website}" if kop.website else "") if text]

    def _blocks(self, columns: list[SignatureColumn], parties: list[Party], taken: set[int],
                ids: set[str]) -> list[_Block]:
        blocks = []
        for column in columns:
            index = _match(column, parties, taken)
            role, person = parties[index] if index is not None else (None, {})
            if index is not None:
                taken.add(index)
            base = f"ttd-{role}" if role else f"ttd-{len(ids) + 1}"
            block_id, n = base, 2
            while block_id in ids:
                block_id, n = f"{base}-{n}", n + 1
            ids.add(block_id)
            nip = person.get("nip")
            blocks.append(_Block(id=block_id, label=column.label, di_atas=column.above, nama=column.name,
                                 nip=str(nip) if nip else None, di_bawah=column.below, peran=role,
                                 username=_username(person)))
        return blocks

    def render(self, markdown: str, context: Mapping[str, Any], *, nomor: str | None = None,
               applicant_role: str | None = None, signing_order: Sequence[str] = ()) -> RenderedPdf:
        """The PDF of ``markdown`` (the document exactly as attached), with ``context`` (the one it was rendered
        with) naming the parties of its signature tables; ``applicant_role``: the role id the ticket's requester
        signs as (from the catalog's role book); ``signing_order``: role ids in the SOP's order."""
        body = parse(markdown)
        parties = _parties(context, applicant_role)
        taken: set[int] = set()
        ids: set[str] = set()
        parts: list[Any] = []
        blocks: list[_Block] = []
        for part in body.parts:
            if isinstance(part, SignatureTable):
                table = self._blocks(part.columns, parties, taken, ids)
                blocks += table
                parts.append({"lead": Markup(part.lead), "blocks": table})  # noqa: S704 - markdown-it, raw HTML off
            else:
                parts.append(Markup(part))  # noqa: S704 - markdown-it output with raw HTML off: escaped already
        html = self._layout.render(kop=self.settings.kop, kontak=self._kontak, logo=self._logo, judul=body.title,
                                   nomor=nomor, bagian=parts)
        with self._lock:  # one layout at a time: the fonts and the fetcher are shared and not documented thread-safe
            document = HTML(string=html, url_fetcher=self._fetcher).render(stylesheets=[self._css],
                                                                             font_config=self._fonts)
            pdf = document.write_pdf()
        where: dict[str, tuple[int, tuple[float, float, float, float], float]] = {}
        for number, page in enumerate(document.pages, start=1):
            for anchor, box in page.anchors.items():
                where.setdefault(anchor, (number, box, page.height))
        order = {role: i for i, role in enumerate(dict.fromkeys(signing_order))}
        ranked = sorted(range(len(blocks)), key=lambda i: (order.get(blocks[i].peran or "", len(order)), i))
        boxes = []
        for urutan, index in enumerate(ranked, start=1):
            block = blocks[index]
            page_no, (left, top, right, bottom), page_height = where[block.id]
            boxes.append(SignatureBox(
                id=block.id, field=block.id, urutan=urutan, label=block.label, nama=block.nama, nip=block.nip,
                peran=block.peran, username=block.username, page=page_no,
                x=round(left * PX_TO_PT, 2), y=round((page_height - bottom) * PX_TO_PT, 2),
                width=round((right - left) * PX_TO_PT, 2), height=round((bottom - top) * PX_TO_PT, 2)))
        return RenderedPdf(pdf=pdf, pages=len(document.pages), title=body.title,
                           signatures=tuple(boxes))
