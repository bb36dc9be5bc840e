"""Render ticket comments and documents (berita acara, laporan) from ``templates/`` in Bahasa Indonesia.

Ticket text is written by applicants and facts come from hosts, so both are *data*: the sandboxed
environment keeps a template from reaching Python internals, and every value printed by ``{{ }}``
is escaped for Markdown by ``finalize`` (the ``md`` filter), so a ``|`` in an applicant's note cannot
break a table and ``{{ 7*7 }}`` in a ticket title prints as written. Jinja never evaluates a value,
only template source, and template source only comes from ``templates/<kind>/``.

``StrictUndefined`` is deliberate: a berita acara without the server's address is worse than no
berita acara, so a missing required fact stops the rendering with `MissingTemplateDataError`.
Templates mark optional facts with ``.get()`` or ``| default``.

Dates and times are shown in the office's local time with its label (WITA for a Gorontalo service, WIB
for Surakarta's), whatever zone the value carries; a naive datetime is taken as UTC because that is how
the toolkit stores times. The zone comes from the rendering context's ``zona_waktu`` (``{nama, label}``,
which `toolkit.document_context` and the escalation set from the ticket's service), else from the
renderer's own zone (the deployment's, ``settings.worktime``); the plain functions default to WIB.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from toolkit.domain.catalog.roles import RoleBook
from toolkit.errors import ConfigurationError, InvalidInputError
from toolkit.worktime.calendars import DEFAULT_ZONE, LocalZone, local_zone

Kind = Literal["documents", "comments"]
KINDS: tuple[str, ...] = ("documents", "comments")
TEMPLATE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SUFFIX = ".md.j2"
WIB = ZoneInfo("Asia/Jakarta")  # the default zone (DEFAULT_ZONE.zone); the office's comes from the context
ZONE_KEY = "zona_waktu"

BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
         "Oktober", "November", "Desember")
HARI = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")



class MissingTemplateDataError(InvalidInputError):
    """A template needed a value the context does not have (a required fact of an action, most
    often). ``details``: ``template``, ``kind``, ``missing`` (Jinja's description of it)."""


class MarkdownText(str):
    """A string already safe for Markdown: ``finalize`` prints it as it is instead of escaping it
    (again). Only for text the toolkit wrote itself, never for a value from a ticket or a host."""

    __slots__ = ()


# Characters that would start a link, a code span, emphasis or strikethrough, or end a table cell.
_INLINE = re.compile(r"([\\`|\[\]*~])")
# "_" only where it can open or close emphasis: not between two letters or digits, so snake_case names
# of files and facts stay readable in the Markdown source.
_UNDERSCORE = re.compile(r"_(?![^\W_])|(?<![^\W_])_")
# At the start of the value these would make a heading, a list item or a setext underline. A lone
# "-" (how an empty value is shown) is left alone: it is none of these. (A leading ">" is already
# "&gt;" by then, which starts no block quote.)
_LEADING = re.compile(r"^(\s*)(#|[-+*](?=\s)|[=-]+\s*$)")
_ORDERED = re.compile(r"^(\s*\d{1,9})([.)])(?=\s)")
_NEWLINES = re.compile(r"[ \t]*[\r\n]+[ \t]*")


def md(value: Any) -> str:
    """Escape a value for a Markdown table cell or inline text; newlines become single spaces.

    ``<``, ``>`` and ``&`` become HTML entities rather than backslash escapes: Markdown renderers
    that predate CommonMark (python-markdown, Markdown.pl) do not honour ``\\<``, and would pass
    ``<script>`` through as HTML. Bare URLs are left as they are (some renderers link them); what is
    prevented is link text that hides where a link goes."""
    if isinstance(value, MarkdownText):
        return value
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here with the name of what is missing
    if value is None:
        return MarkdownText("-")
    if isinstance(value, bool):
        return MarkdownText("Ya" if value else "Tidak")
    text = html.escape(_NEWLINES.sub(" ", str(value)), quote=False)
    text = _INLINE.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _ORDERED.sub(r"\1\\\2", text)
    if text.strip() != "-":
        text = _LEADING.sub(r"\1\\\2", text)
    return MarkdownText(text)


def _as_datetime(value: Any) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInputError(f"not a date or time: {value!r}", errors=[("value", "not a date")])


def _local(value: Any, zone: LocalZone = DEFAULT_ZONE) -> datetime | date:
    moment = _as_datetime(value)
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(zone.zone)
    return moment


def tanggal(value: Any, zone: LocalZone = DEFAULT_ZONE) -> str:
    """``23 November 2026``. A datetime is moved to the office's zone first: 20:00 UTC is already the
    next day in Gorontalo, and the document must carry the date its signatories see on their calendar."""
    moment = _local(value, zone)
    return MarkdownText(f"{moment.day} {BULAN[moment.month - 1]} {moment.year}")


def hari(value: Any, zone: LocalZone = DEFAULT_ZONE) -> str:
    return MarkdownText(HARI[_local(value, zone).weekday()])


def waktu(value: Any, zone: LocalZone = DEFAULT_ZONE) -> str:
    """``09:30 WITA``: the time of day in the office's zone, with the zone's label."""
    moment = _local(value, zone)
    if not isinstance(moment, datetime):
        raise InvalidInputError(f"a date has no time of day: {value!r}", errors=[("value", "not a time")])
    return MarkdownText(f"{moment:%H:%M} {zone.label}")


def zone_context(zone: LocalZone) -> dict[str, str]:
    """The ``zona_waktu`` context value for ``zone``: what the date filters read, and what a template may print."""
    return {"nama": zone.name, "label": zone.label}


@lru_cache(maxsize=32)
def _zone_named(name: str, label: str) -> LocalZone:
    return local_zone(name, label)


def _zone_of(context: Any, default: LocalZone) -> LocalZone:
    given = context.get(ZONE_KEY) if context is not None else None
    if isinstance(given, Mapping) and isinstance(given.get("nama"), str):
        label = given.get("label")
        return _zone_named(given["nama"], label if isinstance(label, str) and label else "")
    return default


def _zoned(function: Callable[[Any, LocalZone], str], default: LocalZone) -> Callable[..., str]:
    """``function`` as a Jinja filter that reads the zone from the rendering context."""

    @jinja2.pass_context
    def zoned(context: Any, value: Any) -> str:
        return function(value, _zone_of(context, default))

    return zoned


def durasi(value: Any) -> str:
    """``1 jam 5 menit``, ``2 menit 5 detik``, ``45 detik``: seconds are dropped once hours are shown,
    because nobody signs a berita acara over seconds."""
    if value is None:
        return MarkdownText("-")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise InvalidInputError(f"not a duration: {value!r}", errors=[("value", "not a duration")])
    if seconds < 0:
        raise InvalidInputError(f"negative duration: {value!r}", errors=[("value", "negative")])
    if 0 < seconds < 1:
        return MarkdownText("kurang dari 1 detik")
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "hari"), (hours, "jam"), (minutes, "menit")]
    if not days and not hours:
        parts.append((secs, "detik"))
    shown = [f"{n} {unit}" for n, unit in parts if n]
    return MarkdownText(" ".join(shown) if shown else "0 detik")


_SATUAN = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh",
           "sebelas")


def _words(n: int) -> str:
    if n < 12:
        return _SATUAN[n]
    if n < 20:
        return f"{_SATUAN[n - 10]} belas"
    scales = ((1_000_000_000, "miliar"), (1_000_000, "juta"), (1000, "ribu"), (100, "ratus"), (10, "puluh"))
    for size, name in scales:
        if n >= size:
            head, rest = divmod(n, size)
            if head == 1 and size in (100, 1000):
                lead = "seratus" if size == 100 else "seribu"
            else:
                lead = f"{_words(head)} {name}"
            return lead if rest == 0 else f"{lead} {_words(rest)}"
    raise AssertionError(n)  # unreachable: every n >= 20 meets size 10


def terbilang(value: Any) -> str:
    """A number in words (``23`` → ``dua puluh tiga``), as a berita acara writes its date line so
    that the date cannot be altered by hand."""
    number = int(value)
    if number < 0:
        return MarkdownText(f"minus {_words(-number)}")
    return MarkdownText(_words(number))


def tanggal_terbilang(value: Any, zone: LocalZone = DEFAULT_ZONE) -> str:
    """``dua puluh tiga bulan November tahun dua ribu dua puluh enam``: the opening line of a berita
    acara spells its date out."""
    moment = _local(value, zone)
    return MarkdownText(f"{_words(moment.day)} bulan {BULAN[moment.month - 1]} tahun {_words(moment.year)}")


def wajib(value: Any, what: str) -> Any:
    """Stop the rendering when a required fact is absent *or empty*: StrictUndefined catches a
    missing key, but an empty host list from a playbook would otherwise print an empty section."""
    if isinstance(value, jinja2.Undefined) or value is None or value == "" or (
            hasattr(value, "__len__") and len(value) == 0):
        raise jinja2.UndefinedError(f"required fact {what!r} is missing or empty")
    return value


def daftar(value: Any, separator: str = ", ") -> str:
    """Join a list of facts for one line. Facts pass through Ansible's templating, which may hand a
    list over as its string form; that is printed as it is rather than joined letter by letter."""
    if isinstance(value, jinja2.Undefined):
        str(value)
    if value is None or isinstance(value, str):
        return md(value)
    return MarkdownText(separator.join(md(item) for item in value))


def nama_peran(role: Any, labels: Mapping[str, str]) -> str:
    """How the SOPs write a role id: ``labels`` are the catalog's role book's (``catalog.roles.labels()``);
    an unknown id is shown title-cased."""
    text = str(role)
    return MarkdownText(labels[text]) if text in labels else md(text.replace("-", " ").title())


def _finalize(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        return value
    return md(value)


def kode(value: Any) -> str:
    """A value shown as code (a masked key, an ID): a Markdown code span renders it literally, so the
    asterisks of a mask stay asterisks in the source a person reads too, not ``\\*``. The fence is
    one backtick longer than any run inside the value (CommonMark), and newlines become spaces."""
    if isinstance(value, jinja2.Undefined):
        str(value)
    text = _NEWLINES.sub(" ", "-" if value is None else str(value))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return MarkdownText(f"{fence}{pad}{text}{pad}{fence}")


FILTERS: dict[str, Callable[[Any], str]] = {
    "kode": kode,
    "durasi": durasi,
    "md": md,
    "terbilang": terbilang,
    "daftar": daftar,
}
# Filters whose answer depends on the office's zone (`_zoned` gives them the context's).
ZONED_FILTERS: dict[str, Callable[[Any, LocalZone], str]] = {
    "tanggal": tanggal, "hari": hari, "waktu": waktu, "tanggal_terbilang": tanggal_terbilang,
}


class TemplateRenderer:
    """One sandboxed environment per kind (``documents``, ``comments``) under ``templates_dir``. ``zone``:
    the deployment's (``settings.worktime``), for a context that does not carry the office's own."""

    def __init__(self, templates_dir: Path, roles: RoleBook, zone: LocalZone = DEFAULT_ZONE) -> None:
        self.templates_dir = Path(templates_dir)
        self.roles = roles
        self.zone = zone
        self._labels = roles.labels()
        self._envs: dict[str, SandboxedEnvironment] = {}

    def role_name(self, role: Any) -> str:
        return nama_peran(role, self._labels)

    def _env(self, kind: str) -> SandboxedEnvironment:
        if kind not in KINDS:
            raise InvalidInputError(f"template kind must be one of {', '.join(KINDS)}, got {kind!r}",
                                    errors=[("kind", "unknown")])
        env = self._envs.get(kind)
        if env is None:
            env = SandboxedEnvironment(
                loader=jinja2.FileSystemLoader(str(self.templates_dir / kind), encoding="utf-8"),
                undefined=jinja2.StrictUndefined,
                autoescape=False,
                finalize=_finalize,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
            )
            env.filters.update(FILTERS)
            env.filters.update({name: _zoned(function, self.zone) for name, function in ZONED_FILTERS.items()})
            env.filters["nama_peran"] = self.role_name
            env.globals["wajib"] = wajib
            self._envs[kind] = env
        return env

    def exists(self, kind: Kind, template_id: str) -> bool:
        return TEMPLATE_ID.fullmatch(template_id) is not None and (
            self.templates_dir / kind / f"{template_id}{SUFFIX}").is_file()

    def render(self, kind: Kind, template_id: str, context: Mapping[str, Any]) -> str:
        """Raises `InvalidInputError` for a malformed id, `ConfigurationError` for a missing or broken
        template, `MissingTemplateDataError` when the context lacks a value the template needs."""
        if not isinstance(template_id, str) or not TEMPLATE_ID.fullmatch(template_id):
            raise InvalidInputError(
                f"template id must match {TEMPLATE_ID.pattern}, got {template_id!r}",
                errors=[("template_id", "invalid")],
            )
        env = self._env(kind)
        name = f"{template_id}{SUFFIX}"
        try:
            template = env.get_template(name)
        except jinja2.TemplateNotFound:
            raise ConfigurationError(
                f"no {kind} template '{template_id}' in {self.templates_dir / kind}",
                kind=kind, template=template_id, directory=str(self.templates_dir / kind),
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigurationError(
                f"{kind}/{name} line {exc.lineno}: {exc.message}", kind=kind, template=template_id,
            ) from None
        try:
            text = template.render(dict(context))
        except jinja2.UndefinedError as exc:
            raise MissingTemplateDataError(
                f"{kind}/{template_id}: a required value is missing: {exc.message}",
                kind=kind, template=template_id, missing=exc.message,
                errors=[("context", exc.message or "undefined")],
            ) from None
        except (TypeError, ValueError) as exc:  # a value of the wrong shape reached a filter or operator
            raise InvalidInputError(
                f"{kind}/{template_id}: a value has the wrong type: {exc}", kind=kind, template=template_id,
                errors=[("context", str(exc))],
            ) from None
        except SecurityError as exc:
            raise ConfigurationError(f"{kind}/{name}: refused by the sandbox: {exc}",
                                     kind=kind, template=template_id) from None
        return _tidy(text)


_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """Conditional blocks leave blank-line runs behind; Markdown needs at most one blank line.
    Trailing spaces stay: two of them are a Markdown line break."""
    lines = ["" if not line.strip() else line for line in text.splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"
