"""One document, both ways: the Markdown shown on the ticket and its PDF, from one rendering.

`Letters` is what the composition root builds once (`App.letters`): the number store, and the PDF renderer
made when first needed (WeasyPrint and the fonts load in a process that lays a document out, not in one that
only numbers a notice).
`Letters.render_document` is the whole of a document's making, used by the ``document.render`` action and the
benchmark alike: the template is rendered once to Markdown (taking the document's number from the store on
the way), masked, and that same masked text is laid out as the PDF, so no secret the mask removes from the
Markdown can reach the PDF and no fact can differ between the two.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.letters.models import RenderedPdf
from toolkit.letters.numbers import DocumentNumbers

if TYPE_CHECKING:  # annotations only: the renderer imports WeasyPrint
    from toolkit.documents import TemplateRenderer
    from toolkit.letters.render import PdfRenderer


@dataclass(frozen=True)
class RenderedDocument:
    markdown: str
    pdf: RenderedPdf
    numbers: tuple[str, ...]  # the numbers the document took (usually one)


class Letters:
    def __init__(self, numbers: DocumentNumbers, make_pdf: Callable[[], PdfRenderer]) -> None:
        self.numbers = numbers
        self._make_pdf = make_pdf
        self._pdf: PdfRenderer | None = None
        self._lock = threading.Lock()

    @property
    def pdf(self) -> PdfRenderer:
        """The PDF renderer, made once (by the first worker thread that needs it)."""
        with self._lock:
            if self._pdf is None:
                self._pdf = self._make_pdf()
            return self._pdf

    def render_document(self, renderer: TemplateRenderer, template: str, context: Mapping[str, Any], *,
                        mask: Callable[[str], str] = str, applicant_role: str | None = None,
                        signing_order: Sequence[str] = ()) -> RenderedDocument:
        """``context`` is `toolkit.document_context.build_context`'s, built with ``numbers=self.numbers``;
        ``applicant_role`` and ``signing_order`` as `toolkit.letters.render.PdfRenderer.render` takes them."""
        markdown = mask(renderer.render("documents", template, context))
        taken = tuple(getattr(context.get("nomor_dokumen"), "taken", ()))
        pdf = self.pdf.render(markdown, context, nomor=taken[0] if taken else None, applicant_role=applicant_role,
                              signing_order=signing_order)
        return RenderedDocument(markdown=markdown, pdf=pdf, numbers=taken)

    def close(self) -> None:
        self.numbers.close()
