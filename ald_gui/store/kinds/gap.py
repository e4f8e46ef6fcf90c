"""Gap: a poll that produced no values (``plc_gaps``), placed like a sample (invariant 7).

A gap carries the run the poll thread had active when it happened, like a batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from ald_gui.domain.stream import Gap
from ald_gui.store.db import db_timestamp
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import (
    Check,
    Figure,
    Group,
    KeySet,
    KeySetId,
    LedgerCount,
    StreamKind,
)

_INSERT = """
INSERT INTO plc_gaps (machine, at, reason, run_id, transaction_id)
VALUES (%(machine)s, %(at)s, %(reason)s, %(run_id)s, %(tx)s)
"""


def _encode(item: Gap, _: KeySetId) -> tuple[int, int, bytes]:
    run_id = str(item.run_id) if item.run_id is not None else None
    body = json_body.dump({"seq": item.seq, "at_us": item.at_us, "reason": item.reason,
                           "run_id": run_id})  # fmt: skip
    return item.at_us, 0, body


def _decode(body: bytes, _: KeySet) -> Gap:
    f = json_body.load(body)
    run_id = f.get("run_id")  # absent in spools written before gaps carried it
    return Gap(
        seq=f["seq"],
        at_us=f["at_us"],
        reason=f["reason"],
        run_id=uuid.UUID(run_id) if run_id else None,
    )


def _count(items: Sequence[Gap], parameter_ids: Mapping[str, int], machine: str) -> tuple[int]:
    return (len(items),)


def _write(items: Sequence[Gap], group: Group) -> None:
    group.cur.executemany(
        _INSERT,
        [{"machine": group.machine, "at": db_timestamp(g.at_us), "reason": g.reason,
          "run_id": g.run_id, "tx": group.transaction_id} for g in items],
    )  # fmt: skip


_CHECKS = (
    # A gap is placed like a sample: inside the interval of the run it names, and every
    # gap inside a run's interval names that run.
    Check(
        7,
        "gap outside its run's interval",
        """
        SELECT g.run_id, g.at, g.reason, r.started_at, r.ended_at, count(*) OVER () AS total
        FROM plc_gaps g JOIN process_executions r ON r.id = g.run_id
        WHERE g.machine = %(machine)s
          AND NOT (g.at >= r.started_at AND g.at < coalesce(r.ended_at, 'infinity'))
        ORDER BY g.at LIMIT %(limit)s""",
    ),
    Check(
        7,
        "gap inside a run's interval not attributed to that run",
        """
        SELECT r.id AS run_id, g.run_id AS gap_run_id, g.at, g.reason,
               count(*) OVER () AS total
        FROM plc_gaps g
        JOIN process_executions r
          ON r.machine = g.machine AND g.at >= r.started_at
             AND g.at < coalesce(r.ended_at, 'infinity')
        WHERE g.machine = %(machine)s AND g.run_id IS DISTINCT FROM r.id
        ORDER BY g.at LIMIT %(limit)s""",
    ),
    Check(
        7,
        "gap naming a run that has no row",
        """
        SELECT g.run_id, g.at, g.reason, count(*) OVER () AS total
        FROM plc_gaps g
        WHERE g.machine = %(machine)s AND g.run_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM process_executions r WHERE r.id = g.run_id)
        ORDER BY g.at LIMIT %(limit)s""",
    ),
)

KIND = StreamKind(
    number=4, item=Gap, encode=_encode, decode=_decode, count=_count, write=_write,
    ledger=(LedgerCount("gap_rows", "plc_gaps"),),
    figures=(Figure("gaps", "gaps", "SELECT count(*) FROM plc_gaps WHERE machine = %(machine)s"),),
    checks=_CHECKS,
    last_in_run="SELECT max(g.at) FROM plc_gaps g WHERE g.run_id = r.id",
)  # fmt: skip
