"""Comments are Markdown rendered as safe HTML (`toolkit.web.portal.markup`): emphasis and plain links
work; raw HTML, ``javascript:``/``data:`` links, images with handlers and attribute injection through a
link title stay inert, checked in the real browser (nothing runs, no such element exists)."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.fixtures.browser import Screenshot
from tests.support.principals import as_lab
from tests.web.portal.conftest import Served
from tests.web.portal.test_browser_flow import login
from tests.web.portal.test_security import XSS, open_ticket
from toolkit.commands import desk
from toolkit.web.portal.markup import markdown

PAYLOADS = [
    "[klik](javascript:window.__xss=3)",
    "[klik](JaVaScRiPt:window.__xss=4)",
    "[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9NTwvc2NyaXB0Pg==)",
    '![gambar](x" onerror="window.__xss=6)',
    "![gambar](https://contoh.example/x.png)",
    '[judul](https://contoh.example "a\\" onmouseover=\\"window.__xss=7")',
    "<a href=\"javascript:window.__xss=8\">tautan</a>",
    "<details open ontoggle=\"window.__xss=9\">x</details>",
    XSS,
]


def test_markdown_helper_escapes_raw_html_and_drops_dangerous_links() -> None:
    html = str(markdown("\n\n".join(PAYLOADS)))
    assert "<script" not in html and "<img" not in html and "<details" not in html
    assert 'href="javascript' not in html.lower() and 'href="data:' not in html
    good = str(markdown("**penting** dan [panduan](https://diskominfo.example.go.id/panduan)"))
    assert "<strong>penting</strong>" in good
    assert '<a href="https://diskominfo.example.go.id/panduan" rel="nofollow noopener noreferrer">' in good


def test_markdown_payloads_in_comments_run_nothing_in_the_browser(page: Page, served: Served,
                                                                   screenshot: Screenshot) -> None:
    ticket_id = open_ticket(served)
    for payload in PAYLOADS:
        desk.comment(served.app, ticket_id, as_lab("sari"), payload)
    desk.comment(served.app, ticket_id, as_lab("andi"), "Mohon cek **segera**, lihat [panduan](https://contoh.example/p).")
    login(page, served, "andi")
    page.goto(f"{served.url}/tiket/{ticket_id}")
    history = page.locator(".riwayat")
    for link in history.locator("a").all():
        href = (link.get_attribute("href") or "").lower()
        assert href.startswith("https://"), href
        link.hover()
    assert history.locator("img, script, details, iframe").count() == 0
    assert page.evaluate("window.__xss") is None
    assert history.locator("strong", has_text="segera").count() == 1
    assert history.locator("a", has_text="panduan").get_attribute("rel") == "nofollow noopener noreferrer"
    screenshot(page, "markdown-aman")
