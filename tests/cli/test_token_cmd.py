"""`spbe token ...` through the real CLI: the token printed once on stdout and stored nowhere in clear,
listed and revoked by id, bad input refused with exit 2, someone else's token refused with exit 4, and
separate `spbe` processes creating tokens at the same moment keep the per-person limit."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.accounts.conftest import files_containing
from tests.conftest import REPO, spbe_argv
from tests.support.cli import Spbe
from toolkit.accounts.credentials import TOKEN_LENGTH
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.errors import AuthenticationError
from toolkit.settings import load_settings


def authenticate(state_dir: Path, token: str) -> str:
    accounts = open_accounts(App(load_settings(state_dir=state_dir)))
    try:
        return accounts.authenticate_token(token).principal.user
    finally:
        accounts.close()


def test_a_token_is_printed_once_and_kept_only_as_a_digest(spbe: Spbe, state_dir: Path, tmp_path: Path) -> None:
    made = spbe("token", "create", "--expires", "30d", "--scope", "read", "--as", "andi")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and len(token) == TOKEN_LENGTH and "shown this once" in made.stderr
    assert authenticate(state_dir, token) == "andi"
    listed = spbe("token", "list", "--as", "andi", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["user"], r["scope"], r["status"]) for r in rows] == [("andi", "read", "active")]
    table = spbe("token", "list", "--as", "andi", env={"COLUMNS": "80"})
    assert rows[0]["id"] in table.stdout and "active" in table.stdout  # the id and state are never cut
    audit = spbe("audit", "list", "--json")
    assert all(token not in text for text in (listed.output, table.output, audit.output))
    assert files_containing(token, tmp_path) == []
    as_json = json.loads(spbe("token", "create", "--expires", "12h", "--scope", "act", "--as", "andi", "--json").stdout)
    assert as_json["token"].startswith(f"spbe_pat_{as_json['id']}_") and as_json["scope"] == "act"


def test_revoke_by_id(spbe: Spbe, state_dir: Path) -> None:
    token = spbe("token", "create", "--expires", "1d", "--scope", "act", "--as", "andi").stdout.strip()
    token_id = json.loads(spbe("token", "list", "--as", "andi", "--json").stdout)[0]["id"]
    assert spbe("token", "revoke", token_id, "--as", "budi").exit_code == 4
    revoked = spbe("token", "revoke", token_id, "--as", "andi")
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    with pytest.raises(AuthenticationError):
        authenticate(state_dir, token)
    assert "already revoked" in spbe("token", "revoke", token_id, "--as", "andi").stdout
    assert spbe("token", "revoke", "0123456789abcdef", "--as", "andi").exit_code == 3
    assert spbe("token", "revoke", "--as", "andi", "--", "$(reboot)").exit_code == 2
    actions = [(e["action"], e["actor"], e["data"]["auth"]) for e in json.loads(spbe("audit", "list", "--json").stdout)
               if e["action"].startswith("token.")]
    assert actions == [("token.create", "andi", "lab-as"), ("token.revoke", "andi", "lab-as")]


@pytest.mark.parametrize(("args", "code"), [
    (("--expires", "forever", "--scope", "read"), 2),
    (("--expires", "9999d", "--scope", "read"), 2),
    (("--expires", "30d", "--scope", "admin"), 2),
    (("--expires", "30d", "--scope", "act", "--user", "kadis"), 4),  # someone else's: refused
    (("--expires", "30d", "--scope", "act", "--user", "../root"), 2),
])
def test_bad_requests_are_refused_and_nothing_is_made(spbe: Spbe, args: tuple[str, ...], code: int) -> None:
    result = spbe("token", "create", *args, "--as", "andi")
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert json.loads(spbe("token", "list", "--all", "--as", "sari", "--json").stdout) == []


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_processes_creating_tokens_at_once_keep_the_limit(state_dir: Path) -> None:
    """Four `spbe token create` processes started together with a limit of three: three print a token,
    one exits 5 (conflict), and the store holds exactly the three printed."""
    env = {**os.environ, "SPBE_STATE_DIR": str(state_dir), "SPBE_ACCOUNTS__TOKENS_PER_USER": "3",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = spbe_argv("token", "create", "--expires", "1d", "--scope", "read", "--as", "andi")
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out.strip(), err))
    assert sorted(code for code, _, _ in results) == [0, 0, 0, 5], results
    printed = {out for code, out, _ in results if code == 0}
    assert len(printed) == 3
    assert {authenticate(state_dir, token) for token in printed} == {"andi"}
    stored = Spbe(state_dir=state_dir)("token", "list", "--as", "andi", "--json")
    assert len(json.loads(stored.stdout)) == 3
