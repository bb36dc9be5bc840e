"""Document numbers: one sequence per type and year, the same number for the same ticket's document, never one
number twice, whether two threads or two processes take at once or a render fails after taking it."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from integrations.state.document_numbers import DocumentNumberStore
from tests.support.document_samples import make_prior, repository_renderer
from tests.support.pdf import ba_context
from toolkit.documents import MissingTemplateDataError
from toolkit.errors import ConfigurationError, ConflictError
from toolkit.letters.config import DocumentSettings
from toolkit.letters.kit import Letters
from toolkit.letters.numbers import DocumentNumbers

KODE = "BA-INSTALASI-SERVER"
BA = "berita_acara_instalasi_server"


def store(path: Path, **documents: object) -> DocumentNumbers:
    register = DocumentNumberStore(path)
    return DocumentNumbers(register, DocumentSettings.model_validate(documents), close_register=register.close)


def test_a_sequence_per_type_and_year_and_the_same_number_again(tmp_path: Path) -> None:
    with store(tmp_path / "state.db") as numbers:
        assert numbers.take(ticket_id="T1", kode=KODE, year=2026, month=11) == "000.8/BA-INST/1/2026"
        assert numbers.take(ticket_id="T2", kode=KODE, year=2026, month=11) == "000.8/BA-INST/2/2026"
        assert numbers.take(ticket_id="T1", kode="LAP-PD", year=2026, month=11) == "000.8/LAP-PD/1/2026"
        assert numbers.take(ticket_id="T3", kode=KODE, year=2027, month=1) == "000.8/BA-INST/1/2027"
        # Re-rendered (even in another year): the number it got first.
        assert numbers.take(ticket_id="T1", kode=KODE, year=2027, month=1) == "000.8/BA-INST/1/2026"
    with store(tmp_path / "state.db") as reopened:  # durable
        assert reopened.take(ticket_id="T4", kode=KODE, year=2026, month=12) == "000.8/BA-INST/3/2026"
        assert [n for _, n, _, _ in reopened.issued(KODE)] == [
            "000.8/BA-INST/1/2026", "000.8/BA-INST/2/2026", "000.8/BA-INST/3/2026", "000.8/BA-INST/1/2027"]


def test_threads_taking_at_once_never_share_a_number(tmp_path: Path) -> None:
    numbers = store(tmp_path / "state.db")
    taken: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for i in range(25):
            got = numbers.take(ticket_id=f"T{n}-{i}", kode=KODE, year=2026, month=11)
            with lock:
                taken.append(got)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers.close()
    assert len(taken) == len(set(taken)) == 200
    assert sorted(int(n.split("/")[2]) for n in taken) == list(range(1, 201))  # no gap, no repeat


def _take_many(path: str, prefix: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    with store(Path(path)) as numbers:
        queue.put([numbers.take(ticket_id=f"{prefix}-{i}", kode=KODE, year=2026, month=11) for i in range(count)])


def test_two_processes_taking_at_once_never_share_a_number(tmp_path: Path) -> None:
    """Two `spbe serve` processes on one state directory."""
    path = tmp_path / "state.db"
    store(path).close()
    context = multiprocessing.get_context("fork")  # the children open their own connections (never inherited)
    queue = context.Queue()
    procs = [context.Process(target=_take_many, args=(str(path), f"P{n}", 40, queue)) for n in range(2)]
    for proc in procs:
        proc.start()
    taken = queue.get(timeout=120) + queue.get(timeout=120)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len(set(taken)) == 80 and {int(n.split("/")[2]) for n in taken} == set(range(1, 81))


def test_a_failed_render_keeps_its_number_and_nobody_else_gets_it(letters: Letters) -> None:
    """The berita acara takes its number before a required fact turns out missing: the number stays with that
    ticket (its retry prints it) and the next document gets the next one."""
    prior = make_prior()
    del prior["instalasi-monitoring"]
    with pytest.raises(MissingTemplateDataError):
        letters.render_document(repository_renderer(), BA, ba_context(letters, prior=prior))
    assert [n for _, n, _, _ in letters.numbers.issued(KODE)] == ["000.8/BA-INST/1/2026"]
    other = letters.numbers.take(ticket_id="PD-2026-0099", kode=KODE, year=2026, month=11)
    assert other == "000.8/BA-INST/2/2026"
    retried = letters.render_document(repository_renderer(), BA, ba_context(letters))
    assert retried.numbers == ("000.8/BA-INST/1/2026",)


def test_a_number_another_type_holds_is_never_issued_twice(tmp_path: Path) -> None:
    """Each store's settings are valid alone; sharing a database (a configuration changed between runs), the
    unique index refuses the second: a `ConflictError`, no duplicate, the sequence not advanced."""
    path = tmp_path / "state.db"
    with store(path, numbering={"BA-A": "N/{seq}/{tahun}"}) as first:
        assert first.take(ticket_id="T1", kode="BA-A", year=2026, month=1) == "N/1/2026"
    with store(path, numbering={"BA-B": "N/{seq}/{tahun}"}) as second:
        with pytest.raises(ConflictError, match="already held"):
            second.take(ticket_id="T2", kode="BA-B", year=2026, month=1)
        assert [n for _, n, _, _ in second.issued()] == ["N/1/2026"]


def test_an_unknown_type_colliding_through_the_default_is_a_configuration_error(tmp_path: Path) -> None:
    with store(tmp_path / "state.db") as numbers, pytest.raises(ConfigurationError, match="BA-INST"):
        numbers.take(ticket_id="T1", kode="BA-INST", year=2026, month=1)
    with store(tmp_path / "state.db") as numbers, pytest.raises(ConfigurationError, match="must match"):
        numbers.take(ticket_id="T1", kode="../etc", year=2026, month=1)
