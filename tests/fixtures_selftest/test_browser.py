"""The browser fixtures work for real: Debian's Chromium loads a page from a real loopback HTTP server,
runs its script, submits a form, and the screenshot helper leaves a PNG where CI collects artifacts."""

from __future__ import annotations

import html
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from werkzeug.wrappers import Request, Response

from tests.fixtures.browser import CHROMIUM, artifacts_dir, require_chromium, screenshot_dir
from tests.fixtures.browser import Screenshot as ScreenshotFn
from tests.support.http_listener import Listener

FORM_PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Uji peramban</title></head>
<body>
  <h1>Layanan SPBE</h1>
  <p id="js">tanpa JavaScript</p>
  <form method="post" action="/kirim">
    <label for="judul">Judul</label> <input id="judul" name="judul">
    <button type="submit">Kirim</button>
  </form>
  <script>document.getElementById("js").textContent = "JavaScript jalan";</script>
</body></html>"""


def _site(request: Request) -> Response:
    if request.method == "POST" and request.path == "/kirim":
        title = request.form.get("judul", "")
        return Response(f"<!doctype html><p id='diterima'>Diterima: {html.escape(title)}</p>",
                        content_type="text/html; charset=utf-8")
    return Response(FORM_PAGE, content_type="text/html; charset=utf-8")


@pytest.fixture
def site() -> Iterator[Listener]:
    listener = Listener(_site, "browser-selftest-site")
    listener.start()
    yield listener
    listener.stop()


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chromium_renders_a_served_page_and_submits_its_form(page: Page, site: Listener,
                                                             screenshot: ScreenshotFn) -> None:
    page.goto(site.url + "/")
    assert page.title() == "Uji peramban"
    assert page.locator("#js").inner_text() == "JavaScript jalan"  # the page's own script ran

    shot = screenshot(page, "form")
    assert shot == screenshot_dir(
        "tests/fixtures_selftest/test_browser.py::test_chromium_renders_a_served_page_and_submits_its_form"
    ) / "form.png"
    assert shot.is_relative_to(artifacts_dir() / "screenshots")
    width, height = _png_size(shot)
    assert width > 100 and height > 100, (width, height)

    page.get_by_label("Judul").fill("Hosting SIMPUS")
    page.get_by_role("button", name="Kirim").click()
    assert page.locator("#diterima").inner_text() == "Diterima: Hosting SIMPUS"
    assert _png_size(screenshot(page, "diterima"))[0] > 100


def test_each_page_has_its_own_cookies(browser: Browser, site: Listener) -> None:
    """Two people in one test (applicant, kepala dinas) need contexts that share no session."""
    first, second = browser.new_context(), browser.new_context()
    try:
        first.add_cookies([{"name": "sesi", "value": "pemohon", "url": site.url}])
        assert [c["value"] for c in first.cookies(site.url)] == ["pemohon"]
        assert second.cookies(site.url) == []
    finally:
        first.close()
        second.close()


def test_the_browser_is_debians_chromium(browser: Browser) -> None:
    assert CHROMIUM.is_file()
    assert browser.browser_type.name == "chromium" and browser.version.split(".")[0].isdigit()


def test_a_missing_chromium_fails_with_what_to_install(tmp_path: Path) -> None:
    """Never a silent skip: the fast tier would pass in CI with no browser test run."""
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        require_chromium(tmp_path / "chromium")


def test_screenshot_names_stay_inside_the_test_folder(page: Page, screenshot: ScreenshotFn) -> None:
    page.set_content("<p>x</p>")
    with pytest.raises(ValueError, match="letters, digits"):
        screenshot(page, "../escape")
