"""Dead letters back into the database, exactly once.

Each dead letter keeps the transaction id of the group it last failed in, so a replay
commits it under that id through the same machinery as any group
(:func:`~ald_gui.store.commit.commit_group`): the ledger row goes in first, and a
replay whose acknowledgement was lost (the letter still in the spool after its commit)
finds the ledger row and writes nothing again. A letter leaves the spool only after
its commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import psycopg

from ald_gui.store.commit import commit_group, is_data_error
from ald_gui.store.dead_letters import DeadLetter
from ald_gui.store.spool import Spool

__all__ = ["ReplayOutcome", "replay_dead_letters"]


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What became of the dead letters of one group."""

    transaction_id: uuid.UUID
    positions: tuple[int, ...]
    committed: bool  # in the database now (and gone from the spool)
    already_committed: bool  # an earlier replay had committed it: nothing written now
    refused: str  # why it stays a dead letter, "" when committed


def replay_dead_letters(
    spool: Spool,
    conn: psycopg.Connection[Any],
    machine: str,
    positions: Collection[int] | None = None,
) -> list[ReplayOutcome]:
    """Commit the dead letters of ``spool`` (those at ``positions``, or all) in stream
    order, one transaction per group they failed in, and forget each group committed.

    A group the database refuses again (its data, a tag it does not know) stays in the
    dead letters with the new reason in its outcome; one that does not decode stays too
    (export it). Raises the database error of anything else (the database away, a
    permission): the letters not yet replayed stay, and a second replay goes on safely.
    """
    letters = [d for d in spool.dead_letters() if positions is None or d.position in positions]
    groups: dict[uuid.UUID, list[DeadLetter]] = {}
    for letter in letters:
        groups.setdefault(letter.transaction_id, []).append(letter)
    rows = conn.execute("SELECT key, id FROM parameters WHERE machine = %s", (machine,))
    parameter_ids: dict[str, int] = dict(rows.fetchall())
    conn.commit()
    outcomes = []
    for txid, group in groups.items():
        where = tuple(d.position for d in group)
        items = [d.item for d in group if d.item is not None]
        if len(items) < len(group):
            outcomes.append(
                ReplayOutcome(txid, where, False, False, "cannot be decoded: export it")
            )
            continue
        try:
            result = commit_group(conn, txid, items, parameter_ids, machine)
        except Exception as exc:
            if not is_data_error(exc):
                raise
            outcomes.append(
                ReplayOutcome(txid, where, False, False, f"{type(exc).__name__}: {exc}")
            )
            continue
        spool.release_dead_letters(txid)
        outcomes.append(ReplayOutcome(txid, where, True, result.already_committed, ""))
    return outcomes
