"""GLPI's rich text and spbe's marker line: what the GLPI desk client writes into and reads out of followups.

GLPI 10 stores followup and ticket content as HTML (its editor's ``<p>``, ``<br>``, entities); the API returns it
as stored when asked with ``X-GLPI-Sanitized-Content: false``. spbe writes plain text as paragraphs and reads
any content back as plain text. The outbox marker is the last paragraph, ``[spbe:<marker>]``; a followup that
set_status wrote also names the status it announces (``[spbe:<marker> status:<n>]``), so the client can read
that status change and its note as the one change spbe made.
"""

from __future__ import annotations

import html
import re

MARKER = re.compile(r"\[spbe:([A-Za-z0-9:._-]{1,128})(?: status:([1-6]))?\]")
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"(?i)<br\s*/?>|</p>|</div>|</li>")


def html_to_text(content: str) -> str:
    """GLPI's rich text as plain text: breaks and paragraphs as newlines, tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", content or ""))).strip()


def text_to_html(text: str) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() or [""])


def split_marker(text: str) -> tuple[str, str | None, int | None]:
    """(text without its trailing marker line, the marker, the status a set_status followup announces) of a
    followup or a document comment."""
    lines = text.rstrip().splitlines()
    if lines and (match := MARKER.fullmatch(lines[-1].strip())):
        status = int(match.group(2)) if match.group(2) else None
        return "\n".join(lines[:-1]).rstrip(), match.group(1), status
    return text, None, None
