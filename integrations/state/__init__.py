"""The engine's state stores (`toolkit.ports.state`) in SQLite: the embedded default, one file ``state.db``."""
