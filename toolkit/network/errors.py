"""Errors of the network device layer: one per way a device can fail, each naming the device.

They subclass the toolkit's errors by meaning (so each keeps the CLI exit code of its kind) and
`DeviceError`, so a fan-out can catch "anything this device did wrong" in one place and report it
per device. Messages never hold a password: they are built here from the device name, address and
the kind of failure, and device output quoted in them has passed the session's masker first.
"""

from __future__ import annotations

from typing import Any

from toolkit.errors import (
    ActionFailedError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    ToolkitError,
    UnavailableError,
)


class DeviceError(ToolkitError):
    """Something went wrong on one device; ``device`` names it."""

    def __init__(self, device: str, message: str, **details: Any) -> None:
        super().__init__(f"{device}: {message}", device=device, **details)
        self.device = device


class DeviceUnreachableError(UnavailableError, DeviceError):
    """No SSH session could be opened (connection refused, no route, DNS)."""


class DeviceTimeoutError(UnavailableError, DeviceError):
    """The device accepted a connection or a command but did not answer in time."""


class DeviceAuthError(ConfigurationError, DeviceError):
    """Login or enable was refused: the inventory's credential references point at wrong values."""


class DeviceCommandError(ActionFailedError, DeviceError):
    """The device refused a configuration line (``% Invalid input``, ``% Incomplete``, ``% Ambiguous``)."""


class DeviceConflictError(ConflictError, DeviceError):
    """The device's current state forbids the change (say, the VLAN ID is already used for something else)."""


class DeviceInputError(InvalidInputError, DeviceError):
    """The request names something this device does not have (an unknown port)."""


class VerificationError(ActionFailedError, DeviceError):
    """After a push, reading back showed the change is not (all) there; ``details['problems']`` lists what."""


class RollbackError(ActionFailedError, DeviceError):
    """Restoring the backup did not bring the device back; it needs an operator."""


class UnsupportedPlatformError(ConfigurationError, DeviceError):
    """Live operations (parsing, diff, verify) exist only for ``cisco_ios``; other platforms render only."""


class ChangeTooLargeError(InvalidInputError):
    """A change touches more devices than one approval may (``network.max_devices_per_change``)."""
