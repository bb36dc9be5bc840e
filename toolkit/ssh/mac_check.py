"""paramiko checks every received packet's MAC with `hmac.compare_digest` instead of a Python loop.

paramiko 4's `paramiko.util.constant_time_bytes_eq` compares the two MACs byte by byte in Python (two
function calls per byte): 32 bytes for hmac-sha2-256 on every packet, a sixth of the client's CPU in a
500-switch push. `hmac.compare_digest` is the standard library's constant-time comparison in C and
answers the same (False for different lengths, constant time for equal lengths), so nothing about the
check changes but its cost. `install` is idempotent; `toolkit.network.session` calls it on import.
"""

from __future__ import annotations

import hmac

import paramiko.util


def install() -> None:
    """Replace paramiko's Python-level MAC comparison (packet.py calls it through ``paramiko.util``)."""
    paramiko.util.constant_time_bytes_eq = hmac.compare_digest
