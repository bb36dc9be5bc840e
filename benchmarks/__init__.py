"""Benchmarks, run as ``python -m benchmarks.<name>``.

Their desks are throwaway, but the audit log refuses to run unkeyed (`toolkit.audit.factory`), so
each run gets its own audit key and a checkpoint file outside every state directory, as the tests
do (``tests/conftest.py``), unless the environment already names them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from toolkit.audit.keys import generate_key
from toolkit.vault import generate_key as _vault_key

if "SPBE_AUDIT__CHECKPOINT_FILE" not in os.environ:
    _audit_dir = tempfile.mkdtemp(prefix="spbe-bench-audit-")
    atexit.register(shutil.rmtree, _audit_dir, True)
    os.environ["SPBE_AUDIT__CHECKPOINT_FILE"] = str(Path(_audit_dir) / "checkpoints.jsonl")
os.environ.setdefault("SPBE_AUDIT_KEY", generate_key())
# Attachments and evidence are encrypted at rest with the vault key (`toolkit.at_rest`): one per run too.
os.environ.setdefault("SPBE_VAULT_KEY", _vault_key())
