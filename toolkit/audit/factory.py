"""Building the installation's audit log from settings, and refusing to build a weak one.

Without a configured key there is no audit log: `open_audit_log` raises `ConfigurationError`
(exit 8) naming ``settings.audit.key`` and how to make a key, rather than writing an unkeyed chain
that anyone with write access to the state directory could rebuild. The same refusal applies to a
key file or checkpoint file inside ``state_dir``, where that same writer could read or rewrite it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.adapter_options import AdapterOptions
from toolkit.audit.keys import AuditKey
from toolkit.audit.log import AuditLog
from toolkit.audit.port import AuditTrail
from toolkit.errors import ConfigurationError
from toolkit.registry import Registry

if TYPE_CHECKING:
    from toolkit.settings import Settings


AUDIT_GROUP = "spbe.audit_logs"  # the registry group of ``settings.audit.kind``


def _inside(path: Path, directory: Path) -> bool:
    return path.expanduser().resolve().is_relative_to(directory.expanduser().resolve())


def audit_key(settings: Settings) -> AuditKey:
    ref = settings.audit.key.ref
    scheme, _, where = ref.partition(":")
    if scheme == "file" and _inside(Path(where), settings.state_dir):
        raise ConfigurationError(f"the audit key file {where} (settings.audit.key) is inside state_dir "
                                 f"{settings.state_dir}; keep it where the state's writers cannot read it")
    try:
        secret = settings.audit.key.resolve()
    except ConfigurationError:
        raise ConfigurationError(
            f"the audit log has no key: {'set' if scheme == 'env' else 'write'} {where} (settings.audit.key, a "
            "secret reference), or make a key file with 'spbe audit keygen --output FILE' and set "
            "SPBE_AUDIT__KEY__REF=file:FILE; the audit log refuses to run unkeyed", setting="audit.key") from None
    return AuditKey.parse(secret, f"settings.audit.key, {ref}")


class SqliteAuditOptions(AdapterOptions):
    """``audit.options`` of sqlite: none. The chain is always ``state_dir/audit.db``."""


class _SqliteAuditLogs:
    """``audit.kind = "sqlite"`` (the default), as the registry builds it: ``state_dir/audit.db``."""

    Options = SqliteAuditOptions

    def __call__(self, *, settings: Settings, key: AuditKey, checkpoint_file: Path,
                 checkpoint_every: int) -> AuditLog:
        return AuditLog(Path(settings.state_dir) / "audit.db", key=key, checkpoint_file=checkpoint_file,
                        checkpoint_every=checkpoint_every, require_auth=True)


sqlite_audit_log = _SqliteAuditLogs()


def open_audit_log(settings: Settings) -> AuditTrail:
    """The keyed audit log of ``settings.audit.kind`` (by registry name; ``sqlite``: ``settings.state_dir``),
    checkpointing to ``settings.audit.checkpoint_file``."""
    cfg = settings.audit
    if _inside(cfg.checkpoint_file, settings.state_dir):
        raise ConfigurationError(
            f"the audit checkpoint file {cfg.checkpoint_file} (settings.audit.checkpoint_file) is inside state_dir "
            f"{settings.state_dir}; it must be somewhere the state's writers cannot rewrite", setting="audit")
    key = audit_key(settings)
    return Registry[AuditTrail](AUDIT_GROUP).create(
        cfg.kind, settings=settings, key=key, checkpoint_file=cfg.checkpoint_file.expanduser(),
        checkpoint_every=cfg.checkpoint_every, **cfg.options)
