"""No credential in the settings is ever printed: not by `spbe config show`, not in a log, not in an error.

The secret places are discovered, not listed: every settings model (walked from `Settings.model_fields`)
and every adapter's option schema (found through the registry for each name in pyproject's entry
points) is searched for fields typed `SecretStr`/`SecretRef`/`ServiceUrl`/`SecretName`, and for fields
whose *name* says credential (password, secret, token, key, ...) or URL. So a field added tomorrow is
covered without touching this file, and one typed plain ``str`` makes it fail.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import AfterValidator, BaseModel, SecretStr, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from tests.support.cli import Spbe
from toolkit.adapter_options import IDENTITY_GROUP, SETTINGS_GROUPS, AdapterOptions
from toolkit.errors import ConfigurationError
from toolkit.registry import _BUILTIN, Registry
from toolkit.secret_types import SecretNameStr, SecretRef, SecretUrl
from toolkit.settings import SEGMENT_PROBERS, Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
CANARY = "CANARY-settings-9c41e7b2"  # noqa: S105 - searched for in every output
URL_CANARY = f"https://spbe-admin:{CANARY}@secret-host.example.go.id:8443/admin"
_SECRETISH = re.compile(r"(^|_)(password|passwd|pass|pwd|secrets?|tokens?|keys?|apikey|credentials?|auth)($|_)",
                        re.IGNORECASE)
_URLISH = re.compile(r"(^|_)(url|uri|dsn|endpoint)($|_)", re.IGNORECASE)
_REFUSED = object()
# Where each registry group's options live in the settings. A new group fails the test until added.
FIELD_OF_GROUP = {**{group: field for field, group in SETTINGS_GROUPS.items()}, IDENTITY_GROUP: "identity",
                  "spbe.token_routes": "gateway",  # token routes are built from the gateway's options
                  "spbe.audit_logs": "audit",  # audit.kind and audit.options
                  "spbe.dispatchers": "engine",  # engine.kind; its settings are engine's own fields
                  SEGMENT_PROBERS: "network"}  # network.prober names it, network.prober_options are its options
NOT_ADAPTERS = {"spbe.cli_plugins"}  # commands added to the CLI, not adapters with options
# Desk clients take their options from the desk mapping files (settings.desks_dir), not from a settings field:
# their Options schemas are checked below like every adapter's; `spbe desk check` shows them (tests/desks).
MAPPING_FILE_GROUPS = {"spbe.desks"}
# Adapters configured by their settings section's own typed fields, with no free-form options (the Celery
# dispatcher: settings.engine, its broker a SecretRef): the Settings walk and canaries below cover them.
OWN_FIELDS_GROUPS = {"spbe.dispatchers"}


# ---------------------------------------------------------------------------------------------- the walk


def _parts(annotation: Any) -> Iterator[Any]:
    """Every class and annotation marker inside ``annotation`` (unions, generics, Annotated)."""
    yield annotation
    for arg in get_args(annotation):
        yield from _parts(arg)


def _submodels(field: FieldInfo) -> list[type[BaseModel]]:
    return [part for part in _parts(field.annotation)
            if isinstance(part, type) and issubclass(part, BaseModel) and part is not SecretRef]


def _validated(field: FieldInfo, value: Any) -> Any:
    try:
        return TypeAdapter(field.rebuild_annotation()).validate_python(value)
    except ValidationError:
        return _REFUSED


def _shows(value: Any) -> bool:
    """Whether a validated value carries the canary where str(), repr() or a log line would show it."""
    return value is not _REFUSED and not isinstance(value, SecretNameStr) and CANARY in f"{value!s} {value!r}"


def leaks(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Fields of ``model`` (at any depth) that would keep a credential in clear: a credential-named
    field accepting the canary as is, or a URL-named field accepting ``user:CANARY@``. A
    `SecretName` is a name of a ``settings.secrets`` entry, whose values are `SecretRef`s."""
    found = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        probes = [CANARY, {"canary": CANARY}, [CANARY]] if _SECRETISH.search(name) else []
        probes += [URL_CANARY] if _URLISH.search(name) else []
        found += [path for probe in probes if _shows(_validated(field, probe))][:1]
        for sub in _submodels(field):
            found += leaks(sub, f"{path}.")
    return found


class Canaries:
    """The canary inputs for one model, and what they need: environment variables read by
    `SecretRef`s and ``settings.secrets`` entries named by `SecretName`s."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.places: list[str] = []

    def ref(self) -> dict[str, str]:
        name = f"CANARY_SECRET_{len(self.env)}"
        self.env[name] = CANARY
        return {"ref": f"env:{name}"}

    def _candidates(self, name: str, field: FieldInfo) -> Iterator[Any]:
        parts = list(_parts(field.rebuild_annotation()))
        if _URLISH.search(name) or SecretUrl in parts:
            yield URL_CANARY
        if any(isinstance(p, type) and issubclass(p, SecretStr) for p in parts):
            yield from (CANARY, {"canary": CANARY}, [CANARY])
        if SecretRef in parts:
            yield from (self.ref(), {"canary": self.ref()})
        if any(isinstance(p, AfterValidator) and p.func is SecretNameStr for p in parts):
            entry = f"canary_name_{len(self.secrets)}"
            self.secrets[entry] = self.ref()
            yield entry
        if _SECRETISH.search(name):  # whatever its type: if it takes a credential, it gets one
            yield from (CANARY, {"canary": CANARY}, [CANARY])

    def fill(self, model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
        """Input for ``model``: a canary in every secret place, samples for required fields."""
        data: dict[str, Any] = {}
        for name, field in model.model_fields.items():
            placed = next((c for c in self._candidates(name, field) if _validated(field, c) is not _REFUSED),
                          _REFUSED)
            if placed is not _REFUSED:
                data[name] = placed
                self.places.append(f"{prefix}{name}")
                continue
            for sub in _submodels(field):
                before = len(self.places)
                nested = self.fill(sub, f"{prefix}{name}.")
                if len(self.places) > before or field.is_required():
                    data[name] = nested
                    break
            if name not in data and field.is_required():
                data[name] = next((s for s in ("https://sample.example.go.id/", "sample", 1, True)
                                   if _validated(field, s) is not _REFUSED), None)
                assert data[name] is not None, f"no sample value for the required {prefix}{name}"
        return data


def adapters() -> list[tuple[str, str]]:
    """Every (group, name) pyproject declares, the installed entry points and the source-tree fallback."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    found = {(group, name) for group, table in declared.items()
             if group.startswith("spbe.") and group not in NOT_ADAPTERS for name in table}
    found |= {(group, name) for group, table in _BUILTIN.items() for name in table}
    found |= {(ep.group, ep.name) for group in {g for g, _ in found} for ep in entry_points(group=group)}
    return sorted(found)


# ---------------------------------------------------------------------------------------------- helpers


def _show(state_dir: Path, env: dict[str, str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
          ) -> tuple[list[Any], str]:
    """``config show`` and ``config show --json`` with ``env``; their results and all they printed or logged."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    spbe = Spbe(state_dir=state_dir, catch_exceptions=True)
    results = [spbe("-vv", "config", "show", *extra) for extra in ((), ("--json",))]
    seen = "\n".join(f"{r.stdout}\n{r.stderr}\n{r.exception!r}" for r in results) + caplog.text
    return results, seen


def _adapter_env(group: str, kind: str, canaries: Canaries) -> dict[str, str]:
    options = {**canaries.fill(Registry[Any](group).options_schema(kind) or AdapterOptions, "options."),
               # undeclared keys: the defence in depth (key names, URL userinfo), at any depth
               "canary_password": CANARY, "mirror_url": URL_CANARY, "nested": [{"api_token": CANARY}]}
    field = FIELD_OF_GROUP[group]
    value: dict[str, Any] = {"kind": kind, "options": options}
    if group == SEGMENT_PROBERS:
        value = {"prober": kind, "prober_options": options}
    if field == "identity":
        value["server_url"] = "https://sso.example.go.id/"
    env = {f"SPBE_{field.upper()}": json.dumps(value), **canaries.env}
    if canaries.secrets:
        env["SPBE_SECRETS"] = json.dumps(canaries.secrets)
    return env


# ---------------------------------------------------------------------------------------------- tests


def test_the_walk_finds_a_credential_typed_as_plain_str() -> None:
    """The guard itself: a field someone adds as ``str`` is caught, at any depth, by name alone."""

    class Inner(BaseModel):
        api_token: str | None = None
        webhook_url: str = "https://desk.example.go.id/"

    class Leaky(BaseModel):
        admin_password: str = ""
        credentials: dict[str, str] = {}
        inner: Inner = Inner()
        fine: SecretRef | None = None

    assert leaks(Leaky) == ["admin_password", "credentials", "inner.api_token", "inner.webhook_url"]


def test_no_settings_model_keeps_a_credential_in_clear() -> None:
    assert leaks(Settings) == []


@pytest.mark.parametrize(("group", "kind"), adapters())
def test_every_adapter_declares_an_options_schema_without_clear_credentials(group: str, kind: str) -> None:
    assert group in FIELD_OF_GROUP or group in MAPPING_FILE_GROUPS, \
        f"settings field of the adapter group {group} unknown to this test"
    schema = Registry[Any](group).options_schema(kind)
    assert schema is not None and issubclass(schema, AdapterOptions), f"{group}:{kind} declares no Options"
    if group == "spbe.token_routes":
        assert schema is Registry[Any]("spbe.gateways").options_schema(kind)
    assert leaks(schema) == []


def test_settings_secrets_are_in_no_output_or_log(state_dir: Path, caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    canaries = Canaries()
    data = canaries.fill(Settings)
    assert {"vault.key", "identity.admin_secret", "secrets"} <= set(canaries.places)
    env = {f"SPBE_{name.upper()}": json.dumps(value) for name, value in data.items()}
    results, seen = _show(state_dir, {**env, **canaries.env}, caplog, monkeypatch)
    assert [r.exit_code for r in results] == [0, 0], seen
    assert "settings loaded" in caplog.text  # the effective settings were logged, and checked below
    assert CANARY not in seen


@pytest.mark.parametrize(("group", "kind"), [(g, k) for g, k in adapters()
                                             if g not in MAPPING_FILE_GROUPS | OWN_FIELDS_GROUPS])
def test_adapter_option_secrets_are_in_no_output_or_log(group: str, kind: str, state_dir: Path,
                                                        caplog: pytest.LogCaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    canaries = Canaries()
    results, seen = _show(state_dir, _adapter_env(group, kind, canaries), caplog, monkeypatch)
    assert [r.exit_code for r in results] == [0, 0], seen
    assert "settings loaded" in caplog.text
    assert CANARY not in seen
    shown = json.loads(results[1].stdout)[FIELD_OF_GROUP[group]]["prober_options" if group == SEGMENT_PROBERS
                                                                 else "options"]
    assert shown["mirror_url"] == "https://********@secret-host.example.go.id:8443/admin"
    assert shown["canary_password"] == "********"  # noqa: S105 - the mask


def test_a_credential_in_the_wrong_shape_is_refused_without_being_echoed(
        state_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """A password typed where a reference or a secret's name belongs, or in a URL that takes none."""
    env = {"SPBE_VAULT": json.dumps({"key": CANARY}),
           "SPBE_IDENTITY": json.dumps({"server_url": URL_CANARY, "admin_secret": {"ref": CANARY}}),
           "SPBE_GATEWAY": json.dumps({"kind": "wso2", "options": {
               "base_url": URL_CANARY.replace("https", "ftp"), "gateway_url": "https://apim.example.go.id",
               "password_secret": f"{CANARY}!"}})}
    results, seen = _show(state_dir, env, caplog, monkeypatch)
    assert [r.exit_code for r in results] == [8, 8], seen
    for key in ("vault.key", "identity.server_url", "identity.admin_secret.ref", "gateway.options.base_url",
                "gateway.options.password_secret"):
        assert key in results[0].stderr
    assert CANARY not in seen and "Traceback" not in seen


def test_adapter_settings_dumped_to_json_load_again_but_a_url_credential_does_not_travel(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings handed to another process as JSON (as tests and scripts do) keep working for URLs; a
    URL's userinfo stays behind, and the copy is refused rather than used with a wrong password."""
    options = {"admin_url": "http://127.0.0.1:8001", "proxy_url": "http://127.0.0.1:8000",
               "admin_token_secret": "kong_token"}
    monkeypatch.setenv("SPBE_GATEWAY", load_settings(gateway={"kind": "kong", "options": options}).gateway
                       .model_dump_json())
    assert load_settings().gateway.options == options

    gateway = load_settings(gateway={"kind": "kong", "options": {**options, "proxy_url": URL_CANARY}}).gateway
    assert gateway.options["proxy_url"].get_secret_value() == URL_CANARY
    dumped = gateway.model_dump_json()
    assert CANARY not in dumped and CANARY not in repr(gateway)
    monkeypatch.setenv("SPBE_GATEWAY", dumped)
    with pytest.raises(ConfigurationError, match=r"gateway\.options\.proxy_url: .*SPBE_GATEWAY"):
        load_settings()
