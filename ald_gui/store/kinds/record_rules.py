"""What every record of the stream that may name a run keeps besides its own rules
(invariant 8): for doctor, stored once and inside the stream range of the ledger row that
wrote it; for the commit, the run it names started on its machine.

A kind's table has ``machine``, ``seq`` and ``transaction_id`` columns; ``shown`` names
the column that tells a person which record it is (a step's path, an alarm's name).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import psycopg

from ald_gui.store.kinds.base import Check, GroupRejected


def stored_once_and_in_its_transaction(table: str, noun: str, shown: str) -> tuple[Check, Check]:
    """``table``'s two rules, ``noun`` naming its records in doctor's words."""
    once = Check(
        8,
        f"{noun} stored more than once",
        f"""
        SELECT x.seq, count(*) AS copies, count(*) OVER () AS total
        FROM {table} x WHERE x.machine = %(machine)s
        GROUP BY x.seq HAVING count(*) > 1
        ORDER BY x.seq LIMIT %(limit)s""",
    )
    in_range = Check(
        8,
        f"{noun} outside its transaction's stream range, or without a ledger row",
        f"""
        SELECT x.seq, x.{shown}, x.transaction_id, w.first_seq, w.last_seq,
               count(*) OVER () AS total
        FROM {table} x LEFT JOIN write_transactions w USING (transaction_id)
        WHERE x.machine = %(machine)s
          AND (x.seq BETWEEN w.first_seq AND w.last_seq AND w.machine = x.machine)
              IS NOT TRUE
        ORDER BY x.seq LIMIT %(limit)s""",
    )
    return once, in_range


_STARTED_RUNS = "SELECT id FROM process_executions WHERE machine = %s AND id = ANY(%s)"


def require_started_runs(
    cur: psycopg.Cursor[Any], machine: str, named: Iterable[tuple[uuid.UUID | None, str]]
) -> None:
    """Raise GroupRejected unless every run named lies in ``process_executions`` of
    ``machine`` (this group's run starts are written first). ``named`` pairs each
    record's run id (None: no run) with the words that name the record to a person."""
    records = [(run, what) for run, what in named if run is not None]
    if not records:
        return
    cur.execute(_STARTED_RUNS, (machine, list({run for run, _ in records})))
    started = {row[0] for row in cur.fetchall()}
    for run, what in records:
        if run not in started:
            raise GroupRejected(
                f"{what} names run {run}, which never started on machine {machine!r}"
            )
