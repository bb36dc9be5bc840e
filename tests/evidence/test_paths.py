"""Evidence path rules: the allowed set, traversal, odd characters (no lab needed)."""

from __future__ import annotations

import pytest

from toolkit.evidence.config import EvidenceSettings
from toolkit.evidence.paths import EvidencePathError, check_hash_path, check_log_path

CFG = EvidenceSettings()


@pytest.mark.parametrize("path", ["/var/log/auth.log", "/var/log/nginx/", "/var/log/nginx/access.log",
                                  "/var/log/apt/history.log"])
def test_allowed_logs(path: str) -> None:
    assert check_log_path(path, CFG.allowed_logs) == path


@pytest.mark.parametrize(("path", "reason"), [
    ("/etc/shadow", "outside the allowed"),
    ("/var/log/nginx/../../../etc/shadow", "traversal"),
    ("/var/log/nginx/./access.log", "traversal"),
    ("/var/log/nginx/sub/deeper.log", "outside the allowed"),  # directories allow their own files only
    ("var/log/auth.log", "not an absolute path"),
    ("/var/log/auth.log\n/etc/shadow", "control characters"),
    ("/var/log/$(reboot)", "characters outside"),
    ("/var/log/auth.log;rm -rf /", "characters outside"),
    ("/var/log/{{ 7*7 }}", "characters outside"),
    ("/var/log//auth.log", "empty path component"),
    ("/var/log/" + "a" * 400, "longer than"),
    ("", "empty"),
])
def test_refused_logs(path: str, reason: str) -> None:
    with pytest.raises(EvidencePathError) as caught:
        check_log_path(path, CFG.allowed_logs)
    assert reason in str(caught.value)
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)


def test_hash_paths() -> None:
    assert check_hash_path("/srv/apps/simpus/index.html", CFG.hash_prefixes)
    for bad in ("/proc/1/environ", "/srv/apps/", "/srv/../etc/shadow", "/dev/sda"):
        with pytest.raises(EvidencePathError):
            check_hash_path(bad, CFG.hash_prefixes)


def test_narrowing_the_allowed_logs_narrows_the_defaults() -> None:
    narrow = EvidenceSettings(allowed_logs=("/var/log/nginx/",))
    assert narrow.default_logs == ("/var/log/nginx/",)
    with pytest.raises(ValueError, match="outside allowed_logs"):
        EvidenceSettings(allowed_logs=("/var/log/nginx/",), default_logs=("/etc/shadow",))
