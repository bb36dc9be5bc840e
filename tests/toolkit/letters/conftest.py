"""The letters kit (PDF renderer and number store) over the test's own state directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pdf import letters_for
from toolkit.letters.kit import Letters
from toolkit.settings import Settings, load_settings


@pytest.fixture
def settings(state_dir: Path) -> Settings:
    return load_settings(state_dir=state_dir)


@pytest.fixture
def letters(settings: Settings) -> Iterator[Letters]:
    kit = letters_for(settings)
    yield kit
    kit.close()
