"""Network automation for the Jaringan Intra service: inventory, change plans and rendered device config.

Everything here is pure data and text: nothing in this package opens a connection. Pushing a rendered
change to a device is a separate step, so a plan can be reviewed and attached to a ticket first.
"""

from toolkit.network.inventory import (
    DataCenterApp,
    Device,
    NetworkInventory,
    Platform,
    Site,
    load_inventory,
)
from toolkit.network.plan import NetworkChange, build_change
from toolkit.network.refs import RefResolver, ResolvedDevice
from toolkit.network.render import render_change, render_rollback

__all__ = [
    "DataCenterApp",
    "Device",
    "NetworkChange",
    "NetworkInventory",
    "Platform",
    "RefResolver",
    "ResolvedDevice",
    "Site",
    "build_change",
    "load_inventory",
    "render_change",
    "render_rollback",
]
