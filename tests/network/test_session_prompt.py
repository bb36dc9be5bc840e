"""The prompt pattern `DeviceSession.show` waits for instead of asking the device for its prompt each time.

It must end a read only at the real privileged prompt: the hostname at the start of the last line,
followed by ``#`` and nothing else. A hostname or a ``#`` inside the output must not end the read
early (that would cut a running config short and make a diff or a verification wrong).
"""

from __future__ import annotations

import re

from toolkit.network.session import exec_prompt_pattern


def _done(base: str, output: str) -> bool:
    return re.search(exec_prompt_pattern(base), output) is not None


def test_ends_at_the_prompt_on_the_last_line() -> None:
    assert _done("sw-dinkes-01", "show vlan brief\n1    default   active\nsw-dinkes-01#")
    assert _done("sw-dinkes-01", "show vlan brief\n1    default   active\nsw-dinkes-01# ")
    assert _done("sw-dinkes-01", "\nsw-dinkes-01#")  # a command with no output
    assert _done("sw-dinkes-01", "sw-dinkes-01#")


def test_not_inside_the_output() -> None:
    running = "show running-config\nhostname sw-dinkes-01\n!\ninterface FastEthernet0/1\n description sw-dinkes-01#up"
    assert not _done("sw-dinkes-01", running)  # the hostname is not at the start of the line
    assert not _done("sw-dinkes-01", "hostname sw-dinkes-01\n!\nsw-dinkes-01#\n!\nend")  # not the last line
    assert not _done("sw-dinkes-01", "show run\nhostname sw-dinkes-01")  # cut in the middle: no prompt yet


def test_not_another_mode_or_another_device() -> None:
    assert not _done("sw-dinkes-01", "\nsw-dinkes-01>")  # user exec
    assert not _done("sw-dinkes-01", "\nsw-dinkes-01(config)#")  # config mode
    assert not _done("sw-dinkes-01", "\nsw-bkd-01#")


def test_long_hostnames_whose_base_prompt_netmiko_cut() -> None:
    # netmiko keeps 16 characters of the hostname as the base prompt; exec mode shows the whole name.
    assert _done("sw-disdik-gedung", "show vlan brief\nsw-disdik-gedung-b-02#")
    assert not _done("sw-disdik-gedung", "show vlan brief\nsw-disdik-gedung-b-02(config)#")


def test_hostname_characters_are_literal() -> None:
    assert not _done("sw.a", "\nswXa#")  # '.' is not a wildcard
