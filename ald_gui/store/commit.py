"""One write group of the stream, committed to PostgreSQL in one transaction, exactly once.

The ledger row (``write_transactions``) goes in first with ``ON CONFLICT DO NOTHING``:
if it is already there, an earlier attempt committed and only its acknowledgement was
lost, so nothing else is written. Otherwise the group's runs, gaps, recipe steps and
samples follow, and the ledger's counts (computed from the items before anything is
written) equal the rows written, because both commit or neither does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from ald_gui.domain.stream import Batch, Gap, RunEnded, RunStarted, StepRecord, StreamItem
from ald_gui.store.db import require_idle

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_INSERT_LEDGER = """
INSERT INTO write_transactions
    (transaction_id, machine, history_rows, run_rows, gap_rows, step_rows, first_seq,
     last_seq)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (transaction_id) DO NOTHING
"""
_INSERT_RUN = """
INSERT INTO process_executions
    (id, machine, operator, note, recipe_name, recipe_version, recipe_sha256,
     recipe_snapshot, started_at, status, transaction_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, 'running', %s)
ON CONFLICT (id) DO NOTHING
"""
_END_RUN = """
UPDATE process_executions SET ended_at = %s, status = %s, reason = %s
WHERE id = %s AND machine = %s
"""
# A gap carries the run the poll thread had active when it happened, like a batch.
_INSERT_GAP = """
INSERT INTO plc_gaps (machine, at, reason, run_id, transaction_id)
VALUES (%(machine)s, %(at)s, %(reason)s, %(run_id)s, %(tx)s)
"""
_INSERT_STEP = """
INSERT INTO run_steps (machine, run_id, seq, path, kind, cycles, started_at, ended_at,
                       outcome, requested_ms, measured_ms, detail, transaction_id)
VALUES (%(machine)s, %(run_id)s, %(seq)s, %(path)s, %(kind)s, %(cycles)s::integer[],
        %(started_at)s, %(ended_at)s, %(outcome)s, %(requested_ms)s, %(measured_ms)s,
        %(detail)s, %(tx)s)
"""
# A step belongs to a run of this machine, started in this group or in an earlier one.
_STARTED_RUNS = "SELECT id FROM process_executions WHERE machine = %s AND id = ANY(%s)"
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

# SQLSTATEs worth retrying: the same group may succeed later, unchanged.
_TRANSIENT_CLASSES = ("08", "53")  # connection exceptions; insufficient resources (disk full)
_TRANSIENT_STATES = frozenset({
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57014",  # query_canceled (statement_timeout on a struggling server)
    "57P01",  # admin_shutdown (server restart, pg_terminate_backend)
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now (server starting up or recovering)
    "25006",  # read_only_sql_transaction (connected to a standby during a failover)
})  # fmt: skip


# SQLSTATE classes the data itself causes: data exceptions, integrity constraints.
_DATA_CLASSES = ("22", "23")


@dataclass(frozen=True)
class CommitResult:
    transaction_id: uuid.UUID
    history_rows: int
    run_rows: int
    gap_rows: int
    step_rows: int
    already_committed: bool


class GroupRejected(ValueError):
    """The group can never be committed as it is (unknown tag, foreign machine, run
    ended that never started, reused transaction id): retrying cannot help."""


def commit_group(
    conn: psycopg.Connection[Any],
    transaction_id: uuid.UUID,
    items: Sequence[StreamItem],
    parameter_ids: Mapping[str, int],
    machine: str,
    fence: Callable[[psycopg.Connection[Any]], None] | None = None,
) -> CommitResult:
    """Write ``items`` (in stream order) and their ledger row in one transaction.

    ``fence``, if given, runs first inside that transaction; whatever it raises aborts
    the group (the machine's lease: see :mod:`ald_gui.store.lease`).

    Returns ``already_committed=True``, writing nothing, when ``transaction_id`` is in
    the ledger already. ``conn`` must be outside any transaction; the transaction is
    committed on return. Raises GroupRejected for a group that can never commit, psycopg
    errors otherwise (``is_transient`` tells which are worth retrying). On any error
    nothing of the group is written.
    """
    counts = _count(items, parameter_ids, machine)
    require_idle(conn, "commit_group")
    with conn.transaction(), conn.cursor() as cur:
        if fence is not None:
            fence(conn)
        cur.execute(_INSERT_LEDGER, (transaction_id, machine, *counts, items[0].seq,
                                     items[-1].seq))  # fmt: skip
        if cur.rowcount == 0:
            _check_replay(cur, transaction_id, machine, counts)
            return CommitResult(transaction_id, *counts, True)
        # Run rows first: the samples' foreign key needs them, and the gaps are attributed
        # by the run intervals, ends included.
        for item in items:
            if isinstance(item, RunStarted):
                run = item.run
                cur.execute(
                    _INSERT_RUN,
                    (run.id, machine, run.operator, run.note, run.recipe, run.recipe_version,
                     run.recipe_sha256, run.recipe_snapshot or None,
                     db_timestamp(run.started_at_us), transaction_id),
                )  # fmt: skip
            elif isinstance(item, RunEnded):
                cur.execute(
                    _END_RUN,
                    (db_timestamp(item.ended_at_us), item.status.value, item.reason, item.run_id,
                     machine),
                )  # fmt: skip
                if cur.rowcount == 0:
                    raise GroupRejected(
                        f"run {item.run_id} of {machine} ended (seq {item.seq}) but never started"
                    )
        gaps = [g for g in items if isinstance(g, Gap)]
        if gaps:
            cur.executemany(
                _INSERT_GAP,
                [{"machine": machine, "at": db_timestamp(g.at_us), "reason": g.reason,
                  "run_id": g.run_id, "tx": transaction_id} for g in gaps],
            )  # fmt: skip
        steps = [s for s in items if isinstance(s, StepRecord)]
        if steps:
            _insert_steps(cur, steps, machine, transaction_id)
        batches = [b for b in items if isinstance(b, Batch)]
        _copy_samples(cur, batches, parameter_ids, transaction_id, into_run=False)
        in_runs = [b for b in batches if b.run_id is not None]
        _copy_samples(cur, in_runs, parameter_ids, transaction_id, into_run=True)
    return CommitResult(transaction_id, *counts, False)


def is_data_error(exc: BaseException) -> bool:
    """True if the group's own data makes it fail, so that committing it again can never
    succeed: PostgreSQL refuses a value (22xxx data exceptions: out of range, invalid
    text) or a rule (23xxx integrity constraints: a CHECK, a foreign key), or this
    module refuses the group (GroupRejected). Only such a group is split and its
    refused items quarantined. Everything else (a revoked permission, a missing table,
    an I/O error on the server, a bug in this code) is the system's fault, not the
    data's: it is retried, however long it lasts, so a broken server cannot empty the
    stream into the dead letters."""
    if isinstance(exc, GroupRejected | psycopg.DataError | psycopg.IntegrityError):
        return True  # psycopg's classes of 22xxx and 23xxx; also raised before sending
    if isinstance(exc, psycopg.Error) and exc.sqlstate is not None:
        return exc.sqlstate.startswith(_DATA_CLASSES)
    return False


def is_transient(exc: BaseException) -> bool:
    """True if the database is away or busy for a while: lost or refused connections,
    server shutdown or restart, serialization failures and deadlocks, exhausted server
    resources, timeouts. The writer then reports the database lost; an error neither
    transient nor a data error (:func:`is_data_error`) is retried too, reported as the
    database refusing commits."""
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        if state is None:
            # No answer from a server: the connection broke, could not be made, or the
            # pool had none to give (psycopg_pool.PoolTimeout is an OperationalError).
            return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        return state in _TRANSIENT_STATES or state.startswith(_TRANSIENT_CLASSES)
    return isinstance(exc, ConnectionError | TimeoutError)


def db_timestamp(us: int) -> datetime:
    """The timestamptz value of a stream time (integer microseconds since the epoch)."""
    # Integer arithmetic all the way: a float would round microseconds away.
    return _EPOCH + timedelta(microseconds=us)


def _count(
    items: Sequence[StreamItem], parameter_ids: Mapping[str, int], machine: str
) -> tuple[int, int, int, int]:
    """(history, run, gap, step) rows the group will write; raises GroupRejected if it
    cannot."""
    if not items:
        raise GroupRejected("a write group needs at least one item")
    history = run = gaps = steps = 0
    unknown: set[str] = set()
    previous: int | None = None
    for item in items:
        if previous is not None and item.seq <= previous:
            raise GroupRejected(f"items out of stream order: seq {item.seq} after {previous}")
        previous = item.seq
        if isinstance(item, Batch):
            unknown.update(k for k in item.values if k not in parameter_ids)
            history += len(item.values)
            if item.run_id is not None:
                run += len(item.values)
        elif isinstance(item, Gap):
            gaps += 1
        elif isinstance(item, StepRecord):
            steps += 1
            if item.started_at_us > item.ended_at_us:
                raise GroupRejected(
                    f"step {item.path} (seq {item.seq}) of run {item.run_id} ends before it starts"
                )
        elif isinstance(item, RunStarted) and item.run.machine != machine:
            raise GroupRejected(
                f"run {item.run.id} belongs to machine {item.run.machine!r}, "
                f"not {machine!r} whose group this is"
            )
    if unknown:
        names = ", ".join(sorted(unknown)[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise GroupRejected(f"values of tags unknown to machine {machine!r}: {names}{more}")
    return history, run, gaps, steps


def _check_replay(
    cur: psycopg.Cursor[Any], transaction_id: uuid.UUID, machine: str, counts: tuple[int, ...]
) -> None:
    cur.execute(
        "SELECT machine, history_rows, run_rows, gap_rows, step_rows FROM write_transactions"
        " WHERE transaction_id = %s",
        (transaction_id,),
    )
    row = cur.fetchone()
    assert row is not None  # the conflicting row cannot vanish: the ledger is append-only
    if (row[0], *row[1:]) != (machine, *counts):
        raise GroupRejected(
            f"transaction {transaction_id} was committed before with other content "
            f"(machine {row[0]!r}, rows {tuple(row[1:])}; this group: machine {machine!r}, "
            f"rows {counts}): a transaction id must name one group only"
        )


def _insert_steps(
    cur: psycopg.Cursor[Any],
    steps: Sequence[StepRecord],
    machine: str,
    transaction_id: uuid.UUID,
) -> None:
    """The group's recipe steps, after its runs: a step whose run never started on this
    machine is refused by name (GroupRejected), not left to the foreign key."""
    named = list({s.run_id for s in steps})
    cur.execute(_STARTED_RUNS, (machine, named))
    started = {row[0] for row in cur.fetchall()}
    for s in steps:
        if s.run_id not in started:
            raise GroupRejected(
                f"step {s.path} (seq {s.seq}) names run {s.run_id}, which never started "
                f"on machine {machine!r}"
            )
    cur.executemany(
        _INSERT_STEP,
        [{"machine": machine, "run_id": s.run_id, "seq": s.seq, "path": s.path,
          "kind": s.kind, "cycles": list(s.cycles), "started_at": db_timestamp(s.started_at_us),
          "ended_at": db_timestamp(s.ended_at_us), "outcome": s.outcome,
          "requested_ms": s.requested_ms, "measured_ms": s.measured_ms, "detail": s.detail,
          "tx": transaction_id} for s in steps],
    )  # fmt: skip


def _copy_samples(
    cur: psycopg.Cursor[Any],
    batches: Sequence[Batch],
    parameter_ids: Mapping[str, int],
    transaction_id: uuid.UUID,
    *,
    into_run: bool,
) -> None:
    """One COPY of every value of ``batches``: into the history, or with each batch's
    run id into the run table."""
    if not any(b.values for b in batches):
        return
    sql, types = (
        (_COPY_RUN_POINTS, _RUN_POINT_TYPES) if into_run else (_COPY_HISTORY, _HISTORY_TYPES)
    )
    with cur.copy(sql) as copy:
        copy.set_types(types)
        for b in batches:
            at = db_timestamp(b.sampled_at_us)
            run = (b.run_id,) if into_run else ()
            for key, value in b.values.items():
                copy.write_row((*run, parameter_ids[key], at, value, transaction_id))
