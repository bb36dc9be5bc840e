"""The engine-guarantee tests of tests/engine, collected again with every store (the ticket desk included) on
PostgreSQL (this folder's conftest): the same assertions, not a copy. Those that start processes carry their own
``slow`` mark; the rest run in the fast tier."""

from __future__ import annotations

# The one list of the engine-guarantee tests collected on PostgreSQL, taken from the queue's collection;
# this folder's conftest puts every store there instead.
from tests.integrations.postgres.test_engine_on_postgres import *  # noqa: F403
from tests.integrations.postgres.test_engine_on_postgres import __all__  # noqa: F401
