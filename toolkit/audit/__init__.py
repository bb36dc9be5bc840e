"""The audit log: every decision (who approved, what ran, with which parameters, what changed),
append-only and tamper-evident even against someone who can write the state directory.

How (one module each):
- `chain`: each entry carries an HMAC-SHA256 of its content and of the previous entry's MAC, under
  a key from ``settings.audit.key`` (`config`, `keys`) that is never stored in the state directory.
  Editing, inserting or deleting an entry, or re-hashing the chain (plain SHA-256, or HMAC under
  any other key), is detected by `AuditLog.verify`.
- `log`: SQLite storage; after each append a signed head anchor beside the database and, every
  ``checkpoint_every`` appends, a signed checkpoint line in ``settings.audit.checkpoint_file``.
- `checkpoints`: checkpoints `{seq, hash, at}` with their MAC. Deleting the newest entries leaves a
  valid shorter chain; a checkpoint of a later head shows it.
- `publish`: the same checkpoints posted to the tickets whose entries they cover (``spbe serve``
  periodically, ``spbe audit checkpoint`` on demand).
- `reconcile`: ``spbe audit verify`` also reads the tickets: a decision on a ticket (check, approve,
  defer, decide, contain, release) without its audit entry is reported, so an approval forged in the
  ticket store leaves a trace, and a ticket's checkpoint ahead of the chain shows a truncation.
- `factory`: without a key the audit log is not built at all (`ConfigurationError`, exit 8, naming
  ``settings.audit.key``); there is no unkeyed fallback for the audit log.

Residual risks, by what the attacker holds:
- the state directory only: detected, as above;
- the audit key too (it is readable by the engine's account, wherever it lives): the chain, the
  anchor and new checkpoints can be forged, but old checkpoints in the file and on the tickets still
  pin the old heads, so rewriting history *before* the newest published checkpoint is still seen;
- the key, the checkpoint file and the ticket system: nothing here can tell. Only copies beyond their
  reach (the system journal shipped to a remote collector, printed or countersigned checkpoints)
  would; the file sink can be pointed at such a place, the journal sink is not written yet;
- truncation of the newest entries *after* the last checkpoint that reached a place the attacker
  cannot write (with ``checkpoint_every`` > 1, or file and anchor both rewritten from saved copies):
  still shown by the tickets' unaudited decisions, but not by the chain;
- the log proves what was recorded, not that everything was: an action that bypasses the desk and
  writes neither the ticket nor the log is invisible to it.

Callers mask secrets in ``data`` before appending (`toolkit.masking`): the log is permanent by
design, so a secret written here cannot be taken back.
"""

from toolkit.audit.chain import GENESIS, AuditEntry, AuditProblem, AuditVerification, entry_hash
from toolkit.audit.checkpoints import Checkpoint
from toolkit.audit.config import AuditSettings
from toolkit.audit.keys import AuditKey, generate_key
from toolkit.audit.log import AuditLog

__all__ = ["GENESIS", "AuditEntry", "AuditKey", "AuditLog", "AuditProblem", "AuditSettings",
           "AuditVerification", "Checkpoint", "entry_hash", "generate_key"]
