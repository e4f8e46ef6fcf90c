"""Runs left open by a console that died (kill -9, power cut) are closed at the next start.

Such a run has no end in the database, so it would claim every later sample of the
machine (invariant 1). It is ended as aborted just after its last stored point, gap or
recipe step, whichever is latest (each stream kind says where its latest record in a
run is): every sample, gap and step the dead console recorded during the run stays
inside it (invariants 1, 7 and 8), every later one stays outside. A console
killed while the PLC was down has a gap as the run's last record. Called only once
the previous session's spool has been committed, so its last records are in the
database, and only under the machine's lease: a run open in the database may belong to
another console recording the same machine name, alive.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from typing import Any

import psycopg

from ald_gui.store.kinds import KINDS

REASON = "the console stopped during the run; closed at its next start"

# The latest record of each kind that lies inside a run (store.kinds). greatest() skips
# NULLs: a run without points, say, but with gaps ends after its last gap.
_LAST_IN_RUN = ",\n            ".join(f"({k.last_in_run})" for k in KINDS if k.last_in_run)
_CLOSE = f"""
UPDATE process_executions r
SET ended_at = greatest(
        r.started_at,
        greatest(
            {_LAST_IN_RUN}
        ) + interval '1 microsecond'),
    status = 'aborted',
    reason = %(reason)s
WHERE r.machine = %(machine)s AND r.ended_at IS NULL AND r.id <> ALL(%(current)s)
RETURNING r.id
"""


def close_orphaned_runs(
    conn: psycopg.Connection[Any],
    machine: str,
    current: Collection[uuid.UUID],
    fence: Callable[[psycopg.Connection[Any]], None],
) -> list[uuid.UUID]:
    """End, as aborted, every run of ``machine`` still open except the ``current``
    session's own runs. Returns their ids. ``fence`` (the lease's) runs first in the
    same transaction; what it raises leaves every run as it was."""
    with conn.transaction():
        fence(conn)
        rows = conn.execute(
            _CLOSE, {"reason": REASON, "machine": machine, "current": list(current)}
        ).fetchall()
    return [row[0] for row in rows]
