"""Adapters of the signing port (`toolkit.ports.signing`): ``pades`` (local CA) and ``bsre`` (BSrE TTE)."""
