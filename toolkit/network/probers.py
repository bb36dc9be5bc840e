"""The quality test's `SegmentProber`, chosen by configuration: ``network.prober`` names one in the registry
(entry points ``spbe.segment_probers``) and ``network.prober_options`` are its options.

Where probes can leave a new segment depends on the deployment (a probe host at the site, a lab's data
plane), so the core ships none and names none: a deployment that runs the quality test configures one.
Every prober is built the same way: ``factory(settings=..., inventory=..., read_running_config=...,
**options)``; ``read_running_config(device)`` gives it what a device really holds, for probers that rebuild
the segment from the switch's own configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolkit.errors import ConfigurationError
from toolkit.network.inventory import NetworkInventory
from toolkit.network.quality import SegmentProber
from toolkit.registry import Registry
from toolkit.settings import SEGMENT_PROBERS


def segment_prober(settings: Any, inventory: NetworkInventory,
                   read_running_config: Callable[[str], str]) -> SegmentProber:
    net = settings.network
    if not net.prober:
        raise ConfigurationError(
            "no quality prober configured (network.prober names one of the registry's "
            f"{SEGMENT_PROBERS}: {', '.join(Registry[Any](SEGMENT_PROBERS).names()) or 'none installed'})")
    prober: SegmentProber = Registry[SegmentProber](SEGMENT_PROBERS).create(
        net.prober, settings=settings, inventory=inventory, read_running_config=read_running_config,
        **net.prober_options)
    return prober
