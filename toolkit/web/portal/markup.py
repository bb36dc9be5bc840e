"""Comments and the engine's ticket texts as safe HTML: CommonMark through markdown-it-py.

Why this is safe to put into a page unescaped: raw HTML is off (``html: False``), so ``<script>`` or
``<img onerror=...>`` typed into a comment comes out as text; markdown-it's link validation drops
``javascript:``, ``vbscript:``, ``file:`` and ``data:`` targets (the link text stays, as text); images are
disabled altogether (a comment cannot make the reader's browser fetch anything, and the portal's CSP
would block a foreign image anyway). Links that remain get ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

# breaks: a single newline stays a line break, as people (and the engine's comments) write lines.
_MD = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False}
                 ).disable("image")


def _link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return str(renderer.renderToken(tokens, idx, options, env))


_MD.add_render_rule("link_open", _link_open)


def markdown(text: str | None) -> Markup:
    """``text`` (Markdown) as HTML that may be put into a page as it is."""
    return Markup(_MD.render(text or ""))  # noqa: S704 - html=False: markdown-it escapes every raw tag
