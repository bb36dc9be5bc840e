"""What an audit entry is and how its MAC is computed; no storage here.

An entry's ``hash`` is HMAC-SHA256, under the chain key derived from the audit key, of the
canonical JSON (sorted keys, no whitespace, UTF-8) of all its other fields, including the previous
entry's hash (`GENESIS` for the first). Without the key nobody can produce a valid entry, so an
edited, inserted or re-hashed entry (plain SHA-256 or a wrong key) fails on its own MAC, and a
removed one breaks the next link.

``key=None`` gives the older unkeyed form (plain SHA-256): kept for the evidence ledger, whose
bundles carry their own manifests, and for reading chains written before the key existed. The
audit log proper is always keyed (`toolkit.audit.factory`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr
from pydantic_core import PydanticSerializationError, to_jsonable_python

from toolkit.audit.keys import AuditKey
from toolkit.errors import InvalidInputError

GENESIS = "0" * 64


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    seq: int
    at: datetime
    actor: str
    action: str
    ticket_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class AuditProblem(BaseModel):
    """``seq`` is the chain position concerned, None when the problem is not one entry's.
    ``where`` says which record disagrees: chain, anchor, key, checkpoint (the file) or ticket."""

    model_config = ConfigDict(frozen=True)
    seq: int | None
    problem: str
    where: str = "chain"
    ticket_id: str | None = None


class AuditVerification(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool
    entries: int
    problems: list[AuditProblem]
    checkpoints: int = 0
    decisions: int = 0


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


def entry_hash(seq: int, at: str, actor: str, action: str, ticket_id: str | None,
               data: Any, prev_hash: str, *, key: AuditKey | None) -> str:
    """The hash an entry must carry; ``at`` is the exact stored ISO text, not a re-rendering.
    ``key`` is required by name so that an unkeyed hash is always a visible choice."""
    return entry_hash_of_text(seq, at, actor, action, ticket_id, canonical(data), prev_hash, key=key)


def entry_hash_of_text(seq: int, at: str, actor: str, action: str, ticket_id: str | None,
                       data_text: str, prev_hash: str, *, key: AuditKey | None) -> str:
    """`entry_hash` from ``data_text``, the canonical JSON of the data, which the log stores anyway: the
    body is the canonical JSON of the entry's fields put together by hand, keys in sorted order (action,
    actor, at, data, prev_hash, seq, ticket_id), byte for byte what `canonical` makes of the whole entry."""
    text = (f'{{"action":{_text(action)},"actor":{_text(actor)},"at":{_text(at)},"data":{data_text},'
            f'"prev_hash":{_text(prev_hash)},"seq":{int(seq)},"ticket_id":{_text(ticket_id)}}}')
    body = text.encode("utf-8")
    return key.chain_mac(body) if key is not None else hashlib.sha256(body).hexdigest()


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(str(value))  # json.dumps(value, ensure_ascii=False)


def _refuse_secrets(value: Any, where: str) -> None:
    if isinstance(value, SecretStr | SecretBytes):
        raise InvalidInputError(f"audit data {where} is a secret; mask it before logging",
                                errors=[(where, "secret value")])
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_secrets(item, f"{where}.{key}")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _refuse_secrets(item, f"{where}[{index}]")


class _NotPlain(Exception):
    pass


def _plain(value: Any) -> Any:
    """A copy of ``value`` when it is plain JSON already (str, int, finite float, bool, None, lists and
    tuples, dicts with str keys: what the engine's entries are made of), equal to what the JSON round trip
    of `normalise` gives (tuples as lists, keys sorted); `_NotPlain` for anything else."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _NotPlain
        return value
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise _NotPlain
        return {k: _plain(value[k]) for k in sorted(value)}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    raise _NotPlain


def normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``data`` into the plain JSON value that is stored and hashed, so that verifying from
    the stored text later reproduces the same hash. Plain data (no secret can hide in it) is copied
    directly; anything else goes through the secret check and the JSON round trip."""
    if type(data) is dict:
        try:
            return _plain(data)  # type: ignore[no-any-return]
        except _NotPlain:
            pass
    _refuse_secrets(data, "data")
    try:
        normalised = json.loads(canonical(to_jsonable_python(dict(data))))
    except (PydanticSerializationError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"audit data is not JSON-serialisable: {exc}",
                                errors=[("data", "not JSON")]) from None
    return normalised  # type: ignore[no-any-return]


Prepared = tuple[str, str, str | None, dict[str, Any]]  # actor, action, ticket_id, normalised data
ChainRow = tuple[int, str, str, str, str | None, str, str, str]  # seq, at, actor, action, ticket, data, prev, hash


def chain_after(prepared: list[Prepared], head: tuple[int, str], key: AuditKey | None) -> list[ChainRow]:
    """The rows of ``prepared`` chained after ``head`` (seq, hash), stamped now: what every store inserts."""
    seq, prev = head
    rows: list[ChainRow] = []
    for actor, action, ticket_id, clean in prepared:
        seq += 1
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        text = canonical(clean)
        digest = entry_hash_of_text(seq, at, actor, action, ticket_id, text, prev, key=key)
        rows.append((seq, at, actor, action, ticket_id, text, prev, digest))
        prev = digest
    return rows


def entries_of(rows: list[ChainRow], prepared: list[Prepared]) -> list[AuditEntry]:
    """The entries just written, from the values checked before writing (the data normalised), not parsed back."""
    return [AuditEntry.model_construct(seq=r[0], at=datetime.fromisoformat(r[1]), actor=r[2], action=r[3],
                                       ticket_id=r[4], data=clean, prev_hash=r[6], hash=r[7])
            for r, (_, _, _, clean) in zip(rows, prepared, strict=True)]
