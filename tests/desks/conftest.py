"""Fixtures of the desk intake tests: an App with the lab Redmine as its desk (``redmine_app``), and the
reference REST desk on a frozen clock with an App on it (``rest_clock``, ``reference_desk``, ``rest_app``).
Helpers are in tests/desks/desk_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.redmine_spec import RedmineHandle
from lab.reference_desk import ReferenceDesk
from tests.desks.desk_helpers import Clock, rest_settings
from tests.support.redmine_desk import desk_settings
from toolkit.bootstrap import App


@pytest.fixture
def redmine_app(redmine: RedmineHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    built = App(desk_settings(redmine, tmp_path, monkeypatch))
    yield built
    built.close()


@pytest.fixture
def rest_clock() -> Clock:
    return Clock()


@pytest.fixture
def reference_desk(rest_clock: Clock) -> Iterator[ReferenceDesk]:
    started = ReferenceDesk(clock=rest_clock).start()
    yield started
    started.stop()


@pytest.fixture
def rest_app(reference_desk: ReferenceDesk, tmp_path: Path) -> Iterator[App]:
    built = App(rest_settings(reference_desk, tmp_path))
    yield built
    built.close()
