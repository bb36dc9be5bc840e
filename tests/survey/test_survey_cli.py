"""`spbe survey answer|ikm` through the real CLI on the engine's test catalog: the applicant answers once
with the nine options (or at the prompt), every refusal has its exit code (2 bad score or comment, 3 unknown
ticket, 4 not the applicant, 5 not closed or answered already), and ``ikm`` prints the table and JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.test_survey import closed_ticket
from tests.conftest import engine_env
from tests.engine.helpers import approved_ticket
from tests.support.cli import Spbe
from toolkit.bootstrap import App
from toolkit.survey.ikm import ELEMENTS


def _scores(*values: int) -> list[str]:
    values = values or (3,) * 9
    return [arg for n, v in enumerate(values, start=1) for arg in (f"--u{n}", str(v))]


@pytest.fixture
def cli(state_dir: Path) -> Spbe:
    env = {k: v for k, v in engine_env(state_dir).items() if k.startswith("SPBE_")}
    return Spbe(env={**env, "COLUMNS": "200"})


def test_answer_once_then_the_ikm_table(engine_app: App, cli: Spbe) -> None:
    ticket_id = closed_ticket(engine_app)
    engine_app.close()
    done = cli("survey", "answer", ticket_id, *_scores(4, 4, 3, 4, 3, 4, 4, 3, 4), "--comment", "Cepat.",
               "--as", "andi")
    assert done.exit_code == 0, done.output
    assert "Terima kasih" in done.output
    again = cli("survey", "answer", ticket_id, *_scores(), "--as", "andi")
    assert again.exit_code == 5 and "already has a survey answer" in again.output
    shown = cli.json("survey", "ikm")
    [row] = shown["services"]
    assert (row["service_id"], row["respondents"], row["mutu"], row["kinerja"]) == ("uji-mesin", 1, "A", "Sangat Baik")
    assert row["ikm"] == round((4 * 6 + 3 * 3) / 9 * 25, 2) == 91.67
    assert shown["overall"]["ikm"] == 91.67
    table = cli("survey", "ikm", "--service", "uji-mesin")
    assert table.exit_code == 0 and "91.67" in table.output and "Sangat Baik" in table.output
    assert "belum ada responden" in cli("survey", "ikm", "--from", "2001-01-01", "--to", "2001-12-31").output
    assert cli("survey", "ikm", "--from", "2026-13-01").exit_code == 2
    assert cli("survey", "ikm", "--from", "2026-02-01", "--to", "2026-01-01").exit_code == 2
    assert cli("survey", "ikm", "--service", "tidak-ada").exit_code == 2


@pytest.mark.parametrize(("args", "code"), [
    (["--u1", "0"], 2), (["--u1", "5"], 2), (["--u1", "x"], 2), (["--u1", "$(reboot)"], 2),
])
def test_bad_scores_exit_2_and_store_nothing(engine_app: App, cli: Spbe, args: list[str], code: int) -> None:
    ticket_id = closed_ticket(engine_app)
    result = cli("survey", "answer", ticket_id, *_scores()[2:], *args, "--as", "andi")
    assert result.exit_code == code, result.output
    assert "u1" in result.output
    assert engine_app.state.survey.get(ticket_id) is None


def test_missing_scores_without_a_terminal_are_named(engine_app: App, cli: Spbe) -> None:
    ticket_id = closed_ticket(engine_app)
    result = cli("survey", "answer", ticket_id, "--u1", "3", "--as", "andi")
    assert result.exit_code == 2 and "u2: required" in result.output and "u9: required" in result.output


def test_refusals_by_person_and_state(engine_app: App, cli: Spbe) -> None:
    ticket_id = closed_ticket(engine_app)
    open_id = approved_ticket(engine_app)
    assert cli("survey", "answer", ticket_id, *_scores(), "--as", "sari").exit_code == 4  # staff: not the applicant
    assert cli("survey", "answer", open_id, *_scores(), "--as", "andi").exit_code == 5  # not closed
    assert cli("survey", "answer", "SPBE-2026-99999", *_scores(), "--as", "andi").exit_code == 3
    assert cli("survey", "answer", ticket_id, *_scores(), "--comment", "x" * 2001, "--as", "andi").exit_code == 2
    assert engine_app.state.survey.get(ticket_id) is None


def test_the_help_names_the_nine_elements(cli: Spbe) -> None:
    shown = cli("survey", "answer", "--help")
    assert shown.exit_code == 0
    for name in ELEMENTS.values():
        assert name.split()[0] in shown.output


def test_the_scores_left_out_are_asked_at_a_terminal(engine_app: App, state_dir: Path) -> None:
    """A real terminal (a pseudo-terminal): each missing element is asked for by name, a bad value asked again."""
    import os
    import pty
    import select
    import subprocess

    from tests.conftest import spbe_argv

    ticket_id = closed_ticket(engine_app)
    leader, follower = pty.openpty()
    process = subprocess.Popen(spbe_argv("survey", "answer", ticket_id, "--u1", "4", "--as", "andi"),
                               stdin=follower, stdout=follower, stderr=follower, env=engine_env(state_dir),
                               close_fds=True)
    os.close(follower)
    seen = b""

    def until(text: bytes) -> None:
        nonlocal seen
        while text not in seen:
            ready, _, _ = select.select([leader], [], [], 60)
            assert ready, seen.decode(errors="replace")
            seen += os.read(leader, 4096)

    try:
        until(b"U2 Sistem, mekanisme dan prosedur")
        os.write(leader, b"5\n")  # not a choice: asked again
        until(b"is not one of")
        os.write(leader, b"2\n")
        for code in list(ELEMENTS)[2:]:
            until(ELEMENTS[code].encode())
            os.write(leader, b"3\n")
        until(b"Terima kasih")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    stored = engine_app.state.survey.get(ticket_id)
    assert stored is not None and stored.scores.values() == (4, 2, 3, 3, 3, 3, 3, 3, 3)
