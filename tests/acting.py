"""Who a test's engine acts as, where the test is not about accounts (tests/test_accounts*,
tests/test_permissions.py are)."""

from __future__ import annotations

from ald_gui.domain.accounts import Actor, Role
from ald_gui.engine.engine import Engine

# Maintenance may ask every command the engine takes: runs (drafts too), writes, valves,
# every alarm action. "alice" is the operator name the tests have always used.
TESTER = Actor("alice", Role.MAINTENANCE, "Alice Tester")


def person(account: str) -> Actor:
    """A tester of that name, who may every command (runs are recorded under it)."""
    return Actor(account, TESTER.role)


def acting(engine: Engine, actor: Actor = TESTER) -> Engine:
    """``engine``, its commands asked by ``actor`` from now on."""
    engine.act_as(actor)
    return engine
