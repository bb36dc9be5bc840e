"""`PromptLine` (one pattern compiled per process, the device's name checked in code) matches exactly where
the per-session patterns it replaced matched: those compiled the escaped base prompt into the regex."""

from __future__ import annotations

import re

import pytest

from toolkit.network.ios_cli import _ANY_LINE, _EXEC_LINE, PromptLine


def _old_exec(base: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(base)}[^\s#>()]*#[ \t]*(?=\S|\Z)", re.MULTILINE)


def _old_any(base: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(base)}[^\s#>()]*(?:\([\w.-]+\))?[#>][ \t]*(?=\S|\Z)", re.MULTILINE)


TEXTS = [
    "show vlan brief\n1    default   active\nsw-dinkes-01#",
    "show vlan brief\n1    default   active\nsw-dinkes-01# ",
    "configure terminal\nsw-dinkes-01(config)#vlan 300\nsw-dinkes-01(config-vlan)#",
    "show run\nhostname sw-dinkes-01\n!\ninterface Fa0/1\n description sw-dinkes-01#up\nsw-dinkes-01#show vlan",
    "sw-bkd-01#\nsw-dinkes-01>\nsw-dinkes-01#",  # another device's prompt first, then user exec, then ours
    "x#y\nsw-dinkes-01x#z\nsw-dinkes-01#",  # a prompt-like line of another name, then a longer name of ours
    "\nsw-dinkes-01.lab.example#",  # exec mode shows the whole name after the 16-character base
    "interface Vlan20\nsw-dinkes-01(config-if)#exit\nsw-dinkes-01(config)#end\nsw-dinkes-01#",
    "no prompt here at all\n",
    "sw.dinkes#\nswXdinkes#",  # a '.' in the name is literal, not any character
]


@pytest.mark.parametrize("base", ["sw-dinkes-01", "sw.dinkes", "sw-dinkes-01.lab"])
@pytest.mark.parametrize("text", TEXTS)
def test_same_matches_as_the_per_session_patterns(base: str, text: str) -> None:
    for new, old in ((PromptLine(_EXEC_LINE, base), _old_exec(base)), (PromptLine(_ANY_LINE, base), _old_any(base))):
        for pos in range(len(text) + 1):
            a, b = new.search(text, pos), old.search(text, pos)
            assert (a and a.span()) == (b and b.span()), (text, pos)
