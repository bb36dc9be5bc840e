"""A berita acara's context as the action builds it (the sample Pusat Data ticket of
tests/support/document_samples.py, whose people here carry NIPs) and the letters kit over a test state dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.document_samples import DIRECTORY, FakeDirectory, context, pusat_data_service
from tests.support.pdf import letters_for
from toolkit.errors import NotFoundError
from toolkit.letters.kit import Letters
from toolkit.ports.directory import Person
from toolkit.settings import Settings, load_settings

NIPS = {"rahmat": "198703152010011002", "fadli": "199001022015031004", "kadis": "197011241995031001"}


class SampleDirectory(FakeDirectory):
    """The whole `toolkit.ports.directory.Directory` port (an `ActionContext` checks it)."""

    def person_for_unix_user(self, unix_user: str) -> Person:
        raise NotFoundError(f"no person acts as {unix_user}")


PEOPLE = SampleDirectory([p.model_copy(update={"nip": NIPS.get(p.username)})
                        for p in DIRECTORY.people_with_role("pemohon") + [
                            DIRECTORY.person(u) for u in ("sri", "kadis", "fadli", "nurul", "csirt1")]])


@pytest.fixture
def settings(state_dir: Path) -> Settings:
    return load_settings(state_dir=state_dir)


@pytest.fixture
def letters(settings: Settings) -> Iterator[Letters]:
    kit = letters_for(settings)
    yield kit
    kit.close()


def ba_context(letters: Letters, **changes: Any) -> dict[str, Any]:
    return context(pusat_data_service(), directory=PEOPLE, numbers=letters.numbers, **changes)
