"""Resolve the inventory's references into what netmiko needs, at the last moment.

Reference scheme (the inventory never holds an address that changes, nor a secret):

- ``env:NAME`` / ``file:/abs/path``: a secret from the environment or a file, as ``toolkit.settings.SecretRef``;
- ``lab:switches/password`` / ``lab:switches/secret``: the running lab's switch credentials, read from the
  0600 files the lab writes on every ``up`` (for a device whose host is ``lab:<switch>``, that switch's files);
- ``lab:<switch>`` as ``host`` or ``port``: the address or port the running lab gave that switch.

Resolved secrets are `SecretStr`, so a `ResolvedDevice` can be logged or shown without leaking them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from lab.models import LabState, LabSwitch, SwitchLabState
from toolkit.errors import ConfigurationError
from toolkit.network.inventory import Device, Platform
from toolkit.settings import SecretRef


class ResolvedDevice(BaseModel):
    """A device with every reference replaced by its value; ``netmiko_params`` is ready for ConnectHandler."""

    model_config = ConfigDict(frozen=True)

    name: str
    platform: Platform
    host: str
    port: int
    username: str
    password: SecretStr
    secret: SecretStr | None = None

    def netmiko_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "device_type": self.platform, "host": self.host, "port": self.port,
            "username": self.username, "password": self.password.get_secret_value(),
        }  # fmt: skip
        if self.secret is not None:
            params["secret"] = self.secret.get_secret_value()
        return params


class RefResolver:
    """Turns references into values; ``lab`` is the running lab's state, or None outside the lab."""

    def __init__(self, lab: LabState | SwitchLabState | None = None) -> None:
        self.lab = lab

    @classmethod
    def from_lab_dir(cls, lab_dir: Path, name: str) -> RefResolver:
        """The resolver of the lab ``name`` under ``lab_dir``: a full lab's ``lab.json``, or a switch-only lab."""
        for state_file, model in (
            (lab_dir / name / "lab.json", LabState),
            (lab_dir / name / "switches" / "switches.json", SwitchLabState),
        ):
            if state_file.is_file():
                return cls(model.model_validate_json(state_file.read_text(encoding="utf-8")))
        raise ConfigurationError(f"lab {name!r} is not up under {lab_dir} ('spbe lab up')", lab=name)

    def _switch(self, ref: str) -> LabSwitch:
        if self.lab is None:
            raise ConfigurationError(f"{ref} needs the running lab, and no lab state was given", ref=ref)
        name = ref.removeprefix("lab:")
        for switch in self.lab.switches:
            if switch.name == name:
                return switch
        known = [s.name for s in self.lab.switches]
        raise ConfigurationError(f"{ref}: lab {self.lab.name!r} has no such switch (switches: {known})", ref=ref)

    def secret(self, ref: str, device: Device | None = None) -> SecretStr:
        if ref.startswith(("env:", "file:")):
            return SecretRef(ref=ref).resolve()
        if ref in ("lab:switches/password", "lab:switches/secret"):
            switch = self._lab_switch_for(ref, device)
            path = switch.password_file if ref.endswith("/password") else switch.secret_file
            try:
                return SecretStr(path.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigurationError(f"{ref} cannot be read: {exc.strerror}", ref=ref) from None
        raise ConfigurationError(f"unknown secret reference scheme: {ref.partition(':')[0]!r}", ref=ref)

    def _lab_switch_for(self, ref: str, device: Device | None) -> LabSwitch:
        if device is not None and device.host.startswith("lab:"):
            return self._switch(device.host)
        if self.lab is None or not self.lab.switches:
            raise ConfigurationError(f"{ref} needs a running lab with switches", ref=ref)
        return self.lab.switches[0]

    def device(self, device: Device) -> ResolvedDevice:
        host = self._switch(device.host).host if device.host.startswith("lab:") else device.host
        port = self._switch(device.port).port if isinstance(device.port, str) else device.port
        creds = device.credentials
        return ResolvedDevice(
            name=device.name, platform=device.platform, host=host, port=port, username=creds.username,
            password=self.secret(creds.password_ref, device),
            secret=self.secret(creds.secret_ref, device) if creds.secret_ref else None,
        )  # fmt: skip
