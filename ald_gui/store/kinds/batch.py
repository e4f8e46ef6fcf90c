"""Batch: one poll's values, the bulk of the stream.

In the spool: a fixed head (seq, time, run) and a reference to its tag-key list (stored
once per set of keys by the spool), then the values as little-endian float64, so NaN,
infinities and -0.0 survive bit for bit. In the database: every value in the history,
and again with its run's id while a run is active, each table in one binary COPY per
group (the fast path: no per-row statements, no foreign keys on the history), and in
the rollups of each second and minute (store.rollups, one statement per group).
"""

from __future__ import annotations

import array
import struct
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from ald_gui.domain.stream import Batch
from ald_gui.store import rollups
from ald_gui.store.db import db_timestamp
from ald_gui.store.kinds.base import (
    Check,
    Figure,
    Group,
    GroupRejected,
    KeySet,
    KeySetId,
    LedgerCount,
    StreamKind,
)

_HEAD = struct.Struct("<qq?16sq")
_BIG_ENDIAN = sys.byteorder == "big"

_COPY_HISTORY = """
COPY parameter_value_history (parameter_id, sampled_at, value, transaction_id)
FROM STDIN (FORMAT BINARY)
"""
_HISTORY_TYPES = ["int4", "timestamptz", "float8", "uuid"]
_COPY_RUN_POINTS = """
COPY process_data_points (run_id, parameter_id, sampled_at, value, transaction_id)
FROM STDIN (FORMAT BINARY)
"""
_RUN_POINT_TYPES = ["uuid", "int4", "timestamptz", "float8", "uuid"]


def _encode(item: Batch, key_set_id: KeySetId) -> tuple[int, int, bytes]:
    keys = tuple(item.values)
    values = array.array("d", item.values.values())
    if _BIG_ENDIAN:
        values.byteswap()
    run = item.run_id.bytes if item.run_id is not None else bytes(16)
    head = _HEAD.pack(item.seq, item.sampled_at_us, item.run_id is not None, run,
                      key_set_id(keys))  # fmt: skip
    return item.sampled_at_us, len(keys), head + values.tobytes()


def _decode(body: bytes, key_set: KeySet) -> Batch:
    seq, sampled_at_us, has_run, run, key_id = _HEAD.unpack_from(body)
    values = array.array("d")
    values.frombytes(body[_HEAD.size :])
    if _BIG_ENDIAN:
        values.byteswap()
    return Batch(
        seq=seq,
        sampled_at_us=sampled_at_us,
        values=dict(zip(key_set(key_id), values, strict=True)),
        run_id=uuid.UUID(bytes=run) if has_run else None,
    )


def _count(
    items: Sequence[Batch], parameter_ids: Mapping[str, int], machine: str
) -> tuple[int, int]:
    """(history rows, run rows); refuses values of tags the machine does not have."""
    history = run = 0
    unknown: set[str] = set()
    for b in items:
        n = len(b.values)
        if not parameter_ids.keys() >= b.values.keys():
            unknown.update(k for k in b.values if k not in parameter_ids)
        history += n
        if b.run_id is not None:
            run += n
    if unknown:
        names = ", ".join(sorted(unknown)[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise GroupRejected(f"values of tags unknown to machine {machine!r}: {names}{more}")
    return history, run


def _write(items: Sequence[Batch], group: Group) -> None:
    _copy(group, items, into_run=False)
    _copy(group, [b for b in items if b.run_id is not None], into_run=True)
    rollups.record(group.cur, items, group.parameter_ids)


def _copy(group: Group, batches: Sequence[Batch], *, into_run: bool) -> None:
    """One COPY of every value of ``batches``: into the history, or with each batch's
    run id into the run table."""
    if not any(b.values for b in batches):
        return
    sql, types = (
        (_COPY_RUN_POINTS, _RUN_POINT_TYPES) if into_run else (_COPY_HISTORY, _HISTORY_TYPES)
    )
    ids, tx = group.parameter_ids, group.transaction_id
    cur: psycopg.Cursor[Any] = group.cur
    with cur.copy(sql) as copy:
        copy.set_types(types)
        for b in batches:
            at = db_timestamp(b.sampled_at_us)
            run = (b.run_id,) if into_run else ()
            for key, value in b.values.items():
                copy.write_row((*run, ids[key], at, value, tx))


# A sample taken at t belongs to run P exactly when started_at(P) <= t < ended_at(P), an
# unended run reaching to infinity (invariant 1); once, with its run row from the same
# commit (2); in the ledger (3); after its run's row (4).
_CHECKS = (
    Check(
        1,
        "run row outside its run's interval",
        """
        SELECT d.run_id, d.parameter_id, d.sampled_at, r.started_at, r.ended_at,
               count(*) OVER () AS total
        FROM process_data_points d JOIN process_executions r ON r.id = d.run_id
        WHERE r.machine = %(machine)s
          AND NOT (d.sampled_at >= r.started_at
                   AND d.sampled_at < coalesce(r.ended_at, 'infinity'))
        ORDER BY d.sampled_at LIMIT %(limit)s""",
    ),
    Check(
        1,
        "history row inside a run's interval without its run row",
        """
        SELECT r.id AS run_id, h.parameter_id, h.sampled_at, count(*) OVER () AS total
        FROM process_executions r
        JOIN parameters p ON p.machine = r.machine
        JOIN parameter_value_history h
          ON h.parameter_id = p.id AND h.sampled_at >= r.started_at
             AND h.sampled_at < coalesce(r.ended_at, 'infinity')
        WHERE r.machine = %(machine)s
          AND NOT EXISTS (SELECT 1 FROM process_data_points d
                          WHERE d.run_id = r.id AND d.parameter_id = h.parameter_id
                                AND d.sampled_at = h.sampled_at)
        ORDER BY h.sampled_at LIMIT %(limit)s""",
    ),
    Check(
        2,
        "run row without a history row of the same tag, time and transaction",
        """
        SELECT d.run_id, d.parameter_id, d.sampled_at, d.transaction_id,
               count(*) OVER () AS total
        FROM process_data_points d JOIN process_executions r ON r.id = d.run_id
        WHERE r.machine = %(machine)s
          AND NOT EXISTS (SELECT 1 FROM parameter_value_history h
                          WHERE h.parameter_id = d.parameter_id
                                AND h.sampled_at = d.sampled_at
                                AND h.transaction_id = d.transaction_id)
        ORDER BY d.sampled_at LIMIT %(limit)s""",
    ),
    Check(
        2,
        "sample stored more than once in the history",
        """
        SELECT h.parameter_id, h.sampled_at, count(*) AS copies, count(*) OVER () AS total
        FROM parameter_value_history h JOIN parameters p ON p.id = h.parameter_id
        WHERE p.machine = %(machine)s
        GROUP BY h.parameter_id, h.sampled_at HAVING count(*) > 1
        ORDER BY h.sampled_at LIMIT %(limit)s""",
    ),
    Check(
        2,
        "sample stored more than once for its run",
        """
        SELECT d.run_id, d.parameter_id, d.sampled_at, count(*) AS copies,
               count(*) OVER () AS total
        FROM process_data_points d JOIN process_executions r ON r.id = d.run_id
        WHERE r.machine = %(machine)s
        GROUP BY d.run_id, d.parameter_id, d.sampled_at HAVING count(*) > 1
        ORDER BY d.sampled_at LIMIT %(limit)s""",
    ),
    # Gaps and runs reference the ledger by foreign key; the sample tables do not
    # (it would slow COPY fourfold), so they are checked here.
    Check(
        3,
        "transaction with data rows but no ledger row",
        """
        WITH orphans AS (
            SELECT 'parameter_value_history' AS table_name, h.transaction_id,
                   count(*) AS rows_found
            FROM parameter_value_history h JOIN parameters p ON p.id = h.parameter_id
            WHERE p.machine = %(machine)s
              AND NOT EXISTS (SELECT 1 FROM write_transactions w
                              WHERE w.transaction_id = h.transaction_id)
            GROUP BY h.transaction_id
            UNION ALL
            SELECT 'process_data_points', d.transaction_id, count(*)
            FROM process_data_points d JOIN process_executions r ON r.id = d.run_id
            WHERE r.machine = %(machine)s
              AND NOT EXISTS (SELECT 1 FROM write_transactions w
                              WHERE w.transaction_id = d.transaction_id)
            GROUP BY d.transaction_id)
        SELECT *, count(*) OVER () AS total FROM orphans
        ORDER BY table_name, transaction_id LIMIT %(limit)s""",
    ),
    # The foreign key from run rows to runs refuses a data point whose run row is not
    # there, but only while it is enforced: a restore with triggers disabled, a replica
    # role (session_replication_role) or a schema without it stores such points. So it
    # is checked here without relying on the key.
    Check(
        4,
        "run row whose run has no row",
        """
        SELECT d.run_id, d.parameter_id, d.sampled_at, d.transaction_id,
               count(*) OVER () AS total
        FROM process_data_points d JOIN parameters p ON p.id = d.parameter_id
        WHERE p.machine = %(machine)s
          AND NOT EXISTS (SELECT 1 FROM process_executions r WHERE r.id = d.run_id)
        ORDER BY d.sampled_at LIMIT %(limit)s""",
    ),
    # The order of the groups: the run's group must not follow, in stream order (seq), a
    # group holding its data. committed_at is not used: clocks step.
    Check(
        4,
        "run whose row was committed in a group after one holding its data",
        """
        SELECT r.id AS run_id, rw.transaction_id AS run_transaction_id,
               rw.first_seq AS run_first_seq, dw.transaction_id AS data_transaction_id,
               dw.first_seq AS data_first_seq, count(*) OVER () AS total
        FROM process_executions r
        JOIN write_transactions rw ON rw.transaction_id = r.transaction_id
        JOIN (SELECT DISTINCT run_id, transaction_id FROM process_data_points) d
          ON d.run_id = r.id
        JOIN write_transactions dw ON dw.transaction_id = d.transaction_id
        WHERE r.machine = %(machine)s AND dw.first_seq < rw.first_seq
        ORDER BY r.started_at LIMIT %(limit)s""",
    ),
)

_FIGURES = (
    Figure(
        "history_rows",
        "history rows",
        """
        SELECT count(*) FROM parameter_value_history h
        JOIN parameters p ON p.id = h.parameter_id WHERE p.machine = %(machine)s""",
    ),
    Figure(
        "run_rows",
        "run rows",
        """
        SELECT count(*) FROM process_data_points d
        JOIN parameters p ON p.id = d.parameter_id WHERE p.machine = %(machine)s""",
    ),
)

KIND = StreamKind(
    number=3,
    item=Batch,
    encode=_encode,
    decode=_decode,
    count=_count,
    write=_write,
    ledger=(
        LedgerCount("history_rows", "parameter_value_history"),
        LedgerCount("run_rows", "process_data_points"),
    ),
    figures=_FIGURES,
    checks=_CHECKS,
    last_in_run="SELECT max(d.sampled_at) FROM process_data_points d WHERE d.run_id = r.id",
)
