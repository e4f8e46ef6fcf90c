"""The registry of stream item kinds: each kind is one module of this package (its
number, its spool encoding, its checks, rows and ledger counts in a write group, its
doctor rules and figures), listed here once, in the order a group writes them: a kind
after every kind its rows refer to.

Adding a kind (an alarm transition, an audit entry) is its module, a line below, and the
migration of its table. Numbers are never reused: a spool row of a kind this program
does not know is set aside as unreadable, not misread.
"""

from __future__ import annotations

from typing import Any

from ald_gui.store.kinds import (
    alarm_event,
    audit_entry,
    batch,
    gap,
    refusal,
    run_ended,
    run_started,
    step_record,
)
from ald_gui.store.kinds.base import StreamKind

KINDS: tuple[StreamKind[Any], ...] = (
    run_started.KIND,
    run_ended.KIND,
    gap.KIND,
    step_record.KIND,
    alarm_event.KIND,
    refusal.KIND,
    audit_entry.KIND,
    batch.KIND,
)
BY_TYPE: dict[type, StreamKind[Any]] = {k.item: k for k in KINDS}
BY_NUMBER: dict[int, StreamKind[Any]] = {k.number: k for k in KINDS}
# The counts of a ledger row (write_transactions), in this order.
LEDGER_COLUMNS: tuple[str, ...] = tuple(c.column for k in KINDS for c in k.ledger)

__all__ = ["BY_NUMBER", "BY_TYPE", "KINDS", "LEDGER_COLUMNS", "StreamKind"]
