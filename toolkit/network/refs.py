"""Resolve the inventory's references into what netmiko needs, at the last moment.

Reference scheme (the inventory never holds a secret): ``env:NAME`` / ``file:/abs/path``, a secret from
the environment or a file, as ``toolkit.settings.SecretRef``. Addresses and ports are plain values: a lab
whose ports change on every start writes a fresh inventory with them each time.

Resolved secrets are `SecretStr`, so a `ResolvedDevice` can be logged or shown without leaking them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from toolkit.errors import ConfigurationError
from toolkit.network.inventory import Device, Platform
from toolkit.settings import SecretRef


class ResolvedDevice(BaseModel):
    """A device with every reference replaced by its value; ``netmiko_params`` is ready for ConnectHandler."""

    model_config = ConfigDict(frozen=True)

    name: str
    platform: Platform
    site: str | None = None  # the session gate's per-site cap applies to it
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
    """Turns a device's secret references into values, at the last moment, each time they are needed."""

    def secret(self, ref: str, device: Device | None = None) -> SecretStr:
        """``device`` names the device in errors; the reference alone says where the value is."""
        if ref.startswith(("env:", "file:")):
            return SecretRef(ref=ref).resolve()
        raise ConfigurationError(f"unknown secret reference scheme: {ref.partition(':')[0]!r}", ref=ref,
                                 device=device.name if device else None)

    def device(self, device: Device) -> ResolvedDevice:
        creds = device.credentials
        return ResolvedDevice(
            name=device.name, platform=device.platform, site=device.site, host=device.host, port=device.port,
            username=creds.username, password=self.secret(creds.password_ref, device),
            secret=self.secret(creds.secret_ref, device) if creds.secret_ref else None,
        )  # fmt: skip
