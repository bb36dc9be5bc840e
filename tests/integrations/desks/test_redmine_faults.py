"""`RedmineDesk` when the desk misbehaves in ways the real Redmine of the fixture will not on demand: a 5xx, a
proxy's HTML page, a hang past the timeout, a 422, a body that is not JSON. A werkzeug server on loopback
answers in Redmine's shapes (``{"errors": [...]}``); the client is the real one, over real HTTP. Every message
names the desk and the request and never the key (a canary)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from werkzeug.wrappers import Request, Response

from integrations.desks.redmine import RedmineDesk
from tests.support.http_listener import Listener
from tests.support.smtp_sink import free_port
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, ToolkitError, UnavailableError
from toolkit.settings import Settings

CANARY = "CANARY-redmine-key-5f0c2a9e"  # noqa: S105 - a canary, searched for in every message and log line
RELEASE = threading.Event()


def _answer(request: Request) -> Response:
    if request.headers.get("X-Redmine-API-Key") != CANARY:
        return Response(status=401)
    path = request.path
    if path == "/issues/500.json":
        return Response(json.dumps({"errors": [f"boom {CANARY}"]}), status=500, mimetype="application/json")
    if path == "/issues/502.json":
        return Response("<html>Bad Gateway</html>", status=502, mimetype="text/html")
    if path == "/issues/7.json" and request.method == "PUT":
        return Response(json.dumps({"errors": ["Subject cannot be blank", f"key {CANARY} echoed"]}), status=422,
                        mimetype="application/json")
    if path == "/issues/8.json":
        RELEASE.wait(5)
        return Response(status=204)
    if path == "/issues/9.json":
        return Response("<html>login</html>", status=200, mimetype="text/html")
    if path == "/issues/403.json":
        return Response(status=403)
    return Response(json.dumps({"errors": ["not found"]}), status=404, mimetype="application/json")


@pytest.fixture(scope="module")
def client() -> Iterator[RedmineDesk]:
    listener = Listener(_answer, "redmine-faults")
    listener.start()
    with RedmineDesk(Settings(), name="redmine-uji", base_url=listener.url, api_key=SecretStr(CANARY),
                     timeout_s=0.5) as desk:
        yield desk
    RELEASE.set()
    listener.stop()


@pytest.mark.parametrize(("key", "error", "words"), [
    ("500", UnavailableError, ["500", "GET /issues/500.json", "boom"]),
    ("502", UnavailableError, ["502"]),
    ("8", UnavailableError, ["timed out", "/issues/8.json"]),
    ("9", ConfigurationError, ["not JSON"]),
    ("403", ConfigurationError, ["403", "permission"]),
    ("404", NotFoundError, ["404"]),
])
def test_each_failure_is_the_ports_error_and_never_shows_the_key(
        client: RedmineDesk, caplog: pytest.LogCaptureFixture, key: str, error: type[ToolkitError],
        words: list[str]) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(error) as raised:
        client.issue(key)
    message = str(raised.value)
    assert "redmine-uji" in message and all(word in message for word in words), message
    assert CANARY not in f"{message} {raised.value!r} {raised.value.details}" and CANARY not in caplog.text


def test_a_422_is_bad_input_with_redmines_errors(client: RedmineDesk) -> None:
    with pytest.raises(InvalidInputError) as refused:
        client.http.request("PUT", "/issues/7.json", json={"issue": {"subject": ""}})
    assert "Subject cannot be blank" in str(refused.value)
    assert refused.value.details["errors"][0] == ("redmine", "Subject cannot be blank")
    assert CANARY not in f"{refused.value} {refused.value.details}"


def test_a_down_desk_names_itself_not_the_key(client: RedmineDesk) -> None:
    with RedmineDesk(Settings(), name="redmine-uji", base_url=f"http://127.0.0.1:{free_port()}", api_key=CANARY,
                     timeout_s=0.5) as down, pytest.raises(UnavailableError, match="unreachable") as raised:
        down.capabilities()
    assert CANARY not in f"{raised.value} {raised.value!r} {raised.value.details}"
