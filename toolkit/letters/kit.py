"""One document, both ways: the Markdown shown on the ticket and its PDF, from one rendering.

`Letters` is what the composition root builds once (`App.letters`): the PDF renderer and the number store.
`Letters.render_document` is the whole of a document's making, used by the ``document.render`` action and the
benchmark alike: the template is rendered once to Markdown (taking the document's number from the store on
the way), masked, and that same masked text is laid out as the PDF, so no secret the mask removes from the
Markdown can reach the PDF and no fact can differ between the two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.documents import TemplateRenderer
from toolkit.letters.numbers import DocumentNumbers
from toolkit.letters.render import PdfRenderer, RenderedPdf


@dataclass(frozen=True)
class RenderedDocument:
    markdown: str
    pdf: RenderedPdf
    numbers: tuple[str, ...]  # the numbers the document took (usually one)


@dataclass
class Letters:
    pdf: PdfRenderer
    numbers: DocumentNumbers

    def render_document(self, renderer: TemplateRenderer, template: str, context: Mapping[str, Any], *,
                        mask: Callable[[str], str] = str, signing_order: Sequence[str] = ()) -> RenderedDocument:
        """``context`` is `toolkit.document_context.build_context`'s, built with ``numbers=self.numbers``."""
        markdown = mask(renderer.render("documents", template, context))
        taken = tuple(getattr(context.get("nomor_dokumen"), "taken", ()))
        pdf = self.pdf.render(markdown, context, nomor=taken[0] if taken else None, signing_order=signing_order)
        return RenderedDocument(markdown=markdown, pdf=pdf, numbers=taken)

    def close(self) -> None:
        self.numbers.close()
