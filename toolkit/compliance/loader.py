"""Loading compliance profiles: the packaged ``profiles/*.yaml``, then a site's own directory.

Refusals name the file and the key path (``rules[2].check``), because whoever reads them is editing
YAML: an unknown check type, a rule without a reversible remediation, a bad severity, a rule or profile
id that repeats one already loaded (in the same file or another). Rule ids are unique across profiles,
since findings, waivers and tickets are keyed by them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from toolkit.compliance.gateway_checks import GATEWAY_CHECK_TYPES
from toolkit.compliance.models import REMEDIATION_KINDS, TARGETS, AnyProfile, Profile
from toolkit.compliance.server_checks import CHECK_TYPES
from toolkit.compliance.switch_checks import SWITCH_CHECK_TYPES
from toolkit.domain import yaml_doc
from toolkit.errors import ConfigurationError

_TAGS = {"check": {*CHECK_TYPES, *SWITCH_CHECK_TYPES, *GATEWAY_CHECK_TYPES}, "remediation": set(REMEDIATION_KINDS)}
_HINTS = {
    "check": f"known check types: server {', '.join(CHECK_TYPES)}; switch {', '.join(SWITCH_CHECK_TYPES)}; "
             f"gateway {', '.join(GATEWAY_CHECK_TYPES)}",
    "remediation": "a rule needs a reversible remediation: {kind: playbook, playbook, undo_playbook}, "
                   "{kind: network-plan} or {kind: gateway-change, action}",
}


def key_path(loc: Iterable[int | str]) -> str:
    """pydantic's location as the YAML key path, without the union tags pydantic inserts after a key."""
    parts: list[str] = []
    previous: int | str | None = None
    for position, item in enumerate(loc):
        if position == 0 and item in TARGETS:
            pass  # the profile's own tag (its target)
        elif isinstance(item, int):
            parts.append(f"[{item}]")
        elif not (isinstance(previous, str) and item in _TAGS.get(previous, ())):
            parts.append(("." if parts else "") + item)
        previous = item
    return "".join(parts) or "(top level)"


def _refusal(name: str, exc: ValidationError) -> ConfigurationError:
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        hint = next((_HINTS[k] for k in ("remediation", "check") if k in loc), "")
        lines.append(f"{name}: {key_path(loc)}: {error['msg']}" + (f" ({hint})" if hint else ""))
    return ConfigurationError("compliance profile refused:\n" + "\n".join(lines))


_PROFILE: TypeAdapter[AnyProfile] = TypeAdapter(Profile)


def parse_profile(name: str, text: str) -> AnyProfile:
    try:
        data: Any = yaml_doc.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"compliance profile refused: {name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"compliance profile refused: {name}: (top level): a mapping is expected")
    try:
        return _PROFILE.validate_python(data)
    except ValidationError as exc:
        raise _refusal(name, exc) from exc


def _packaged() -> list[tuple[str, str]]:
    folder = resources.files("toolkit.compliance") / "profiles"
    return [(f"toolkit/compliance/profiles/{entry.name}", entry.read_text(encoding="utf-8"))
            for entry in sorted(folder.iterdir(), key=lambda e: e.name) if entry.name.endswith(".yaml")]


def _site(folder: Path) -> list[tuple[str, str]]:
    if not folder.is_dir():
        raise ConfigurationError(f"compliance.profiles_dir {folder} is not a directory")
    return [(str(path), path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))]


def load_sources(sources: Iterable[tuple[str, str]]) -> Mapping[str, AnyProfile]:
    """Profiles by id from ``(name, yaml text)`` pairs, in order; duplicates refused naming both places."""
    profiles: dict[str, AnyProfile] = {}
    profile_at: dict[str, str] = {}
    rule_at: dict[str, str] = {}
    for name, text in sources:
        profile = parse_profile(name, text)
        if profile.id in profiles:
            raise ConfigurationError(f"compliance profile refused: {name}: id: duplicate profile id "
                                     f"'{profile.id}' (first in {profile_at[profile.id]})")
        for index, rule in enumerate(profile.rules):
            where = f"{name} rules[{index}].id"
            if rule.id in rule_at:
                raise ConfigurationError(f"compliance profile refused: {name}: rules[{index}].id: duplicate rule "
                                         f"id '{rule.id}' (first at {rule_at[rule.id]})")
            rule_at[rule.id] = where
        profiles[profile.id] = profile
        profile_at[profile.id] = name
    return profiles


def load_profiles(site_dir: Path | None = None) -> Mapping[str, AnyProfile]:
    """The packaged profiles, then ``site_dir``'s (``settings.compliance.profiles_dir``) if given."""
    return load_sources([*_packaged(), *(_site(site_dir) if site_dir is not None else [])])
