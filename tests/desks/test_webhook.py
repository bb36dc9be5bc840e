"""Webhook deliveries: only a signed, fresh, first-seen delivery names an issue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from toolkit.desks.mapping import DeskMapping, parse_mapping
from toolkit.desks.records import DeskRecords
from toolkit.desks.webhook import accept, issue_key, sign
from toolkit.errors import AuthenticationError, InvalidInputError

LAB_MAPPING = Path(__file__).resolve().parents[2] / "lab" / "desks" / "redmine.yml"
SECRET = "kunci-webhook-canary-7f3a"  # noqa: S105 - a test secret
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.fixture
def mapping() -> DeskMapping:
    return parse_mapping(LAB_MAPPING)


@pytest.fixture
def records(tmp_path: Path) -> DeskRecords:
    return DeskRecords(tmp_path)


def signed(body: bytes, at: datetime = NOW, delivery: str = "d-1", secret: str = SECRET) -> dict[str, str]:
    ts = str(int(at.timestamp()))
    return {"X-Spbe-Signature": "sha256=" + sign(secret, ts, body), "X-Spbe-Timestamp": ts,
            "X-Spbe-Delivery": delivery}


@pytest.mark.parametrize("body", [b'{"issue_key": "42"}', b'{"payload": {"issue": {"id": 42}}}',
                                  b'{"item": {"id": 42, "name": "x"}}', b'{"issue": {"id": "42"}}'])
def test_a_signed_fresh_delivery_names_its_issue(mapping: DeskMapping, records: DeskRecords, body: bytes) -> None:
    assert accept(mapping, SECRET, signed(body), body, records, NOW) == "42"


def test_a_replayed_delivery_is_ignored_and_counted(mapping: DeskMapping, records: DeskRecords) -> None:
    body = b'{"issue_key": "42"}'
    assert accept(mapping, SECRET, signed(body), body, records, NOW) == "42"
    assert accept(mapping, SECRET, signed(body), body, records, NOW + timedelta(seconds=5)) is None
    assert records.status("redmine").replays == 1
    assert accept(mapping, SECRET, signed(body, delivery="d-2"), body, records, NOW) == "42"


@pytest.mark.parametrize("case", ["unsigned", "wrong-secret", "tampered", "stale", "future", "bad-ts"])
def test_unsigned_wrong_or_stale_is_401_and_stores_nothing(mapping: DeskMapping, records: DeskRecords,
                                                           case: str) -> None:
    body = b'{"issue_key": "42"}'
    headers = {
        "unsigned": {"X-Spbe-Delivery": "d-1"},
        "wrong-secret": signed(body, secret="lain"),  # noqa: S106 - a wrong key on purpose
        "tampered": signed(b'{"issue_key": "43"}'),
        "stale": signed(body, at=NOW - timedelta(seconds=301)),
        "future": signed(body, at=NOW + timedelta(seconds=301)),
        "bad-ts": signed(body) | {"X-Spbe-Timestamp": "1e9"},
    }[case]
    with pytest.raises(AuthenticationError) as caught:
        accept(mapping, SECRET, headers, body, records, NOW)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.details)
    assert records.status("redmine").last_webhook is None


@pytest.mark.parametrize(("body", "problem"), [
    (b"not json", "body"), (b'{"issue_key": "4;2"}', "issue_key"), (b'{"issue_key": "$(id)"}', "issue_key"),
    (b'{"other": 1}', "names no issue"), (b'{"issue": {"id": "../../etc"}}', "names no issue"),
    (b"[1, 2]", "body"),
])
def test_a_malformed_body_is_400_naming_the_problem(mapping: DeskMapping, records: DeskRecords, body: bytes,
                                                   problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem.replace("$", r"\$").replace("(", r"\(")):
        accept(mapping, SECRET, signed(body), body, records, NOW)


def test_an_oversized_body_is_refused_before_its_signature_is_computed(mapping: DeskMapping,
                                                                     records: DeskRecords) -> None:
    body = json.dumps({"issue_key": "42", "pad": "x" * 70000}).encode()
    with pytest.raises(InvalidInputError, match="larger than"):
        accept(mapping, SECRET, signed(body), body, records, NOW)


def test_issue_key_reads_the_forms_desks_send() -> None:
    assert issue_key(b'{"payload": {"issue": {"id": 7}, "action": "updated"}}') == "7"
