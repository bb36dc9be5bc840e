"""Evidence quotes the target verbatim: a newline, Markdown or Jinja in what a host said stays data.

The evaluators neither render nor strip it; escaping is the ticket comment templates' job (issue 14,
point 4), which gets the exact text the host produced and so can show it faithfully once escaped.
"""

from __future__ import annotations

import pytest

from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import ServerProfile, ServerRule, SwitchProfile
from toolkit.compliance.outcome import Verdict

from .samples import AT, SSHD, facts, targets

JINJA = "{{ 7 * 7 }}{% for x in range(3) %}x{% endfor %}"
MARKDOWN = "**[klik di sini](http://evil.example/)** <script>alert(1)</script>"


@pytest.fixture(scope="module")
def rules() -> dict[str, ServerRule]:
    profile = load_profiles()["server-dasar"]
    assert isinstance(profile, ServerProfile)
    return {r.id: r for r in profile.rules}


def _kept(evidence: str, *texts: str) -> None:
    for text in texts:
        assert text in evidence
    assert "49" not in evidence and "xxx" not in evidence  # nothing was rendered


def test_an_sshd_value_with_markdown_and_jinja_is_quoted_not_rendered(rules: dict[str, ServerRule]) -> None:
    crafted = SSHD.replace("permitrootlogin no", f"permitrootlogin yes {MARKDOWN} {JINJA}")
    outcome = rules["SD-SSH-01"].evaluate(facts(sshd_effective=crafted))
    assert outcome.verdict is Verdict.FAIL
    _kept(outcome.evidence, MARKDOWN, JINJA)


def test_a_file_name_with_a_newline_stays_one_quoted_path(rules: dict[str, ServerRule]) -> None:
    path = f"/srv/apps/web/x\n## Semua aturan lulus\n{JINJA}.php"
    outcome = rules["SD-FS-01"].evaluate(facts(world_writable=(path,)))
    assert outcome.verdict is Verdict.FAIL
    _kept(outcome.evidence, path)


def test_a_scrape_error_and_a_site_name_are_kept_as_given(rules: dict[str, ServerRule]) -> None:
    error = f"dial tcp: refused\n\n> {MARKDOWN}\n{JINJA}"
    monitored = rules["SD-MON-01"].evaluate(facts(prometheus_targets=targets(health="down", last_error=error)))
    assert monitored.verdict is Verdict.FAIL
    _kept(monitored.evidence, error)
    site = f"{JINJA}.go.id\n- [x] lulus"
    expiring = rules["SD-TLS-01"].evaluate(facts(tls_not_after={site: "notAfter=Dec 10 00:00:00 2026 GMT"}))
    assert expiring.verdict is Verdict.FAIL
    _kept(expiring.evidence, site)


def test_a_garbled_fact_is_quoted_in_the_error_not_rendered(rules: dict[str, ServerRule]) -> None:
    outcome = rules["SD-TIME-01"].evaluate(facts(timedatectl=f"{JINJA}\n{MARKDOWN}"))
    assert outcome.verdict is Verdict.ERROR
    _kept(outcome.evidence, JINJA)


def test_a_switch_line_with_markdown_and_jinja_is_quoted_not_rendered() -> None:
    profile = load_profiles()["jaringan-intra"]
    assert isinstance(profile, SwitchProfile)
    (snmp,) = [r for r in profile.rules if r.id == "JI-SNMP-01"]
    line = f"snmp-server community public RO {JINJA} {MARKDOWN}"
    running = f"hostname sw\n!\n{line}\n!\nline vty 0 4\n transport input ssh\nend\n"
    outcome = snmp.evaluate(SwitchFacts(device="sw", gathered_at=AT, running_config=running))
    assert outcome.verdict is Verdict.FAIL
    _kept(outcome.evidence, line)
