"""Retention: whole partitions of the sample tables dropped once older than the span kept
(migration 0014; README, "Partitions, retention and rollups").

Only whole partitions go, never single rows, and only those of :data:`DROPPED_TABLES`:
runs, steps, gaps, alarms, refusals, the ledger and the audit trail are kept, and so are
the minute rollups. A run is kept whole or dropped whole: the cut falls on a partition
boundary of every one of those tables, and where a run spans it, it moves back to the
partition boundary before that run's start. Each dropped partition is written down in
``retention_drops`` (what, which span, how many rows, when, by whom) and the rows each
transaction lost in ``retention_ledger``, so that doctor's ledger check stays exact.
Runs as the schema owner, in one transaction: all of it, or nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from ald_gui.store.db import require_idle
from ald_gui.store.roles import Group

__all__ = ["DROPPED_TABLES", "Drop", "Dropped", "RetentionError", "RetentionPlan"]
__all__ += ["apply", "drops", "plan"]

# The partitioned tables retention drops from; the samples' ledger tables first.
DROPPED_TABLES = (
    "parameter_value_history",
    "process_data_points",
    "history_rollup_1s",
    "history_rollup_10s",
)
_LEDGER_TABLES = ("parameter_value_history", "process_data_points")


class RetentionError(Exception):
    """Retention cannot run: the login may not drop partitions."""


@dataclass(frozen=True, slots=True)
class Dropped:
    """A partition retention drops (or would): its table, name, span and rows."""

    table: str
    partition: str
    range_from: datetime
    range_to: datetime
    rows: int


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """What keeping ``keep`` means now: ``asked`` is now minus ``keep``; ``cut`` the
    partition boundary actually kept from (None: no partition is old enough);
    ``runs_kept`` the runs that moved the cut back, being whole after it."""

    keep: timedelta
    asked: datetime
    cut: datetime | None
    partitions: tuple[Dropped, ...]
    runs_kept: tuple[uuid.UUID, ...]

    def rows(self, table: str) -> int:
        return sum(p.rows for p in self.partitions if p.table == table)


def plan(conn: psycopg.Connection[Any], keep: timedelta) -> RetentionPlan:
    """What ``apply`` would drop now, without dropping anything (in the caller's
    transaction). Counts the rows of the partitions it would drop."""
    row = conn.execute("SELECT now() - %s", (keep,)).fetchone()
    assert row is not None
    asked: datetime = row[0]
    spans = conn.execute(
        "SELECT table_name, partition_name, range_from, range_to FROM history_partitions"
        " WHERE NOT is_default AND table_name = ANY(%s) ORDER BY range_from",
        (list(DROPPED_TABLES),),
    ).fetchall()
    # A boundary inside no partition of any of the tables: a cut there splits nothing.
    inside = [(f, t) for _, _, f, t in spans]
    boundaries = sorted(
        {b for _, _, f, t in spans for b in (f, t) if not any(lo < b < hi for lo, hi in inside)}
    )
    cut = _boundary_before(boundaries, asked)
    runs_kept: list[uuid.UUID] = []
    while cut is not None:
        spanning = conn.execute(
            "SELECT id, started_at FROM process_executions WHERE started_at < %(cut)s"
            " AND coalesce(ended_at, 'infinity') > %(cut)s ORDER BY started_at",
            {"cut": cut},
        ).fetchall()
        if not spanning:
            break
        runs_kept += [r[0] for r in spanning]
        cut = _boundary_before(boundaries, spanning[0][1])
    doomed = [s for s in spans if cut is not None and s[3] <= cut]
    partitions = tuple(
        Dropped(table, name, range_from, range_to, _count(conn, name))
        for table, name, range_from, range_to in doomed
    )
    return RetentionPlan(keep, asked, cut, partitions, tuple(runs_kept))


def apply(conn: psycopg.Connection[Any], keep: timedelta) -> RetentionPlan:
    """Drop the partitions wholly older than the cut (see :func:`plan`), recording each
    drop and each transaction's dropped rows, in one transaction as ``ald_owner``.
    ``conn`` must be outside any transaction. Raises RetentionError for a login that
    is neither a superuser nor a member of ald_owner, psycopg errors otherwise."""
    require_idle(conn, "retention")
    with conn.transaction():
        try:
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(Group.OWNER)))
        except psycopg.errors.InsufficientPrivilege:
            raise RetentionError(
                "retention drops partitions, which only the schema's owner may: run it as "
                f"a member of {Group.OWNER} or a superuser (ald-gui db retention "
                "--admin-dsn ...)"
            ) from None
        # Against a console making partitions meanwhile: one retention at a time.
        conn.execute("LOCK TABLE retention_drops IN EXCLUSIVE MODE")
        done = plan(conn, keep)
        for p in done.partitions:
            row = conn.execute(
                "INSERT INTO retention_drops (keep, cut, table_name, partition_name,"
                " range_from, range_to, rows_dropped) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " RETURNING id",
                (keep, done.cut, p.table, p.partition, p.range_from, p.range_to, p.rows),
            ).fetchone()
            assert row is not None
            name = sql.Identifier(p.partition)
            if p.table in _LEDGER_TABLES:
                conn.execute(
                    sql.SQL(
                        "INSERT INTO retention_ledger (drop_id, transaction_id, rows_dropped)"
                        " SELECT %s, transaction_id, count(*) FROM {} GROUP BY transaction_id"
                    ).format(name),
                    (row[0],),
                )
            conn.execute(sql.SQL("DROP TABLE {}").format(name))
    return done


@dataclass(frozen=True, slots=True)
class Drop:
    """One retention run as recorded: when, by whom, the cut, and the rows dropped per
    table."""

    dropped_at: datetime
    dropped_by: str
    cut: datetime
    rows: dict[str, int]

    def __str__(self) -> str:
        stamp = "%Y-%m-%d %H:%M UTC"
        rows = ", ".join(f"{n} rows of {t}" for t, n in self.rows.items())
        return (
            f"samples before {self.cut.astimezone(UTC):{stamp}} dropped "
            f"{self.dropped_at.astimezone(UTC):{stamp}} by {self.dropped_by} ({rows})"
        )


def drops(conn: psycopg.Connection[Any]) -> list[Drop]:
    """Every retention run recorded, oldest first (for doctor)."""
    rows = conn.execute(
        "SELECT dropped_at, dropped_by, cut, table_name, sum(rows_dropped)::bigint"
        " FROM retention_drops GROUP BY 1, 2, 3, 4 ORDER BY 1, 4"
    ).fetchall()
    found: dict[tuple[datetime, str, datetime], dict[str, int]] = {}
    for at, by, cut, table, n in rows:
        found.setdefault((at, by, cut), {})[table] = int(n)
    return [Drop(at, by, cut, counts) for (at, by, cut), counts in found.items()]


def _boundary_before(boundaries: list[datetime], at: datetime) -> datetime | None:
    before = [b for b in boundaries if b <= at]
    return before[-1] if before else None


def _count(conn: psycopg.Connection[Any], partition: str) -> int:
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(partition))
    ).fetchone()
    return int(row[0]) if row else 0
