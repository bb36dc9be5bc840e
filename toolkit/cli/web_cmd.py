"""`spbe api-server`, and the front door beside the engine in `spbe serve --http`."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from toolkit.bootstrap import App
from toolkit.errors import ConfigurationError
from toolkit.settings import Settings
from toolkit.web.config import split_bind

log = logging.getLogger("spbe.serve")


def http_override(obj: Any, address: str) -> dict[str, Any]:
    """``address`` as ``settings.http.bind`` with the front door turned on; the section's other keys come
    from the file and the environment (pydantic-settings merges nested sections)."""
    try:
        split_bind(address)
    except ValueError as exc:
        raise ConfigurationError(f"--http: {exc}", name="http") from None
    return {"enabled": True, "bind": address}


@contextmanager
def serving_http(app: App, settings: Settings) -> Iterator[str | None]:
    """The web server in a thread for the duration of the block (when settings.http.enabled)."""
    if not settings.http.enabled:
        yield None
        return
    from toolkit.web.server import WebServer

    server = WebServer(app, settings, settings.http.host, settings.http.port)
    url = server.start()
    log.info("spbe serve: HTTP on %s", url, extra={"event": "http.start", "url": url})
    try:
        yield url
    finally:
        server.stop()


@click.command("api-server")
@click.option("--bind", "bind", metavar="HOST:PORT", help="Where to listen (port 0: a free one, logged); "
                                                          "else settings.http.bind.")
@click.pass_obj
def api_server_command(obj: Any, bind: str | None) -> None:
    """Serve the HTTP API (and the portal) alone, without the trigger loop and workers, until SIGTERM/SIGINT."""
    from toolkit.web.server import WebServer

    os.umask(0o077)
    if bind:
        obj.override(http=http_override(obj, bind))
    obj.daemon_logging()
    app = obj.app
    app.audit.check_writable()
    settings = app.settings
    server = WebServer(app, settings, settings.http.host, settings.http.port)
    # uvicorn re-raises a signal it caught once it has shut down (the process would end "killed by
    # SIGTERM"); like `spbe serve`, the signal here only asks the server to stop, and the exit is clean.
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    url = server.start()
    click.echo(f"spbe api-server: {url}/api/v1", err=True)
    while not stop.wait(0.5):
        pass
    server.stop()
