"""What the fab benchmark measures in the database: one connection's bulk COPY (the
baseline), and, from the ledger, the rows committed in a span, each sample's latency to
its transaction's real commit (``pg_xact_commit_timestamp``: the server must run with
``track_commit_timestamp``), and the order of each machine's groups."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from ald_gui.store import roles
from support.copy_rows import HISTORY_COPY, RUN_POINTS_COPY, history_payload
from support.pg15 import Pg15Cluster

RATE_HZ = 10.0


def copy_rate(server: Pg15Cluster, tags: int, batches_per_group: int, seconds: float) -> dict:
    """Rows/s of one connection COPYing history and run rows of ``tags`` tags, one
    transaction per group of ``batches_per_group`` polls, for about ``seconds``, into a
    database of its own made like the historian's."""
    name = f"copy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(server.dsn(dbname=name)) as conn:
            roles.initialise(conn, {}, {})
            run, tx = uuid.uuid4(), uuid.uuid4()
            conn.execute(
                "INSERT INTO write_transactions (transaction_id, machine, history_rows,"
                " run_rows, gap_rows, first_seq, last_seq) VALUES (%s, 'copy', 0, 0, 0, 0, 0)",
                (tx,),
            )
            conn.execute(
                "INSERT INTO process_executions (id, machine, operator, started_at, status,"
                " transaction_id) VALUES (%s, 'copy', 'bench', now(), 'running', %s)",
                (run, tx),
            )
            conn.commit()
            step_us = int(1e6 / RATE_HZ)
            rows = spent = 0.0
            first = 0
            while spent < seconds:
                history = history_payload(first, batches_per_group, tags, batches_per_group,
                                          step_us)  # fmt: skip
                points = history_payload(first, batches_per_group, tags, batches_per_group,
                                         step_us, run)  # fmt: skip
                began = time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(HISTORY_COPY) as copy:
                        copy.write(history)
                    with cur.copy(RUN_POINTS_COPY) as copy:
                        copy.write(points)
                spent += time.perf_counter() - began
                rows += 2 * tags * batches_per_group
                first += batches_per_group
    finally:
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    return {"batches_per_group": batches_per_group, "rows_per_s": round(rows / spent)}


def committed(conn: psycopg.Connection[Any], since: datetime, until: datetime) -> tuple[int, int]:
    """(data rows, transactions) committed in [since, until), by real commit time."""
    row = conn.execute(
        "SELECT coalesce(sum(history_rows + run_rows), 0), count(*) FROM write_transactions"
        " WHERE pg_xact_commit_timestamp(xmin) >= %s AND pg_xact_commit_timestamp(xmin) < %s",
        (since, until),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def latencies(conn: psycopg.Connection[Any], since: datetime, until: datetime) -> dict:
    """Per machine: sample-to-commit p50/p99/max (s) of the samples taken in the window."""
    rows = conn.execute(
        "WITH s AS (SELECT DISTINCT transaction_id, sampled_at FROM parameter_value_history"
        "   WHERE sampled_at >= %s AND sampled_at < %s),"
        " l AS (SELECT w.machine, extract(epoch FROM pg_xact_commit_timestamp(w.xmin)"
        "   - s.sampled_at)::float8 AS s FROM s JOIN write_transactions w USING (transaction_id))"
        " SELECT machine, percentile_cont(0.5) WITHIN GROUP (ORDER BY s),"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY s), max(s), count(*)"
        " FROM l GROUP BY machine ORDER BY machine",
        (since, until),
    ).fetchall()
    return {
        m: {"p50_ms": round(p50 * 1e3, 1), "p99_ms": round(p99 * 1e3, 1),
            "max_ms": round(mx * 1e3, 1), "samples": n}
        for m, p50, p99, mx, n in rows
    }  # fmt: skip


def out_of_order(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Per machine, the ledger groups committed after a group of later samples: each
    group's first seq must be above the last seq of the group committed before it."""
    rows = conn.execute(
        "SELECT machine, count(*) FILTER (WHERE first_seq <= prev) FROM ("
        " SELECT machine, first_seq, lag(last_seq) OVER (PARTITION BY machine"
        "  ORDER BY pg_xact_commit_timestamp(xmin)) AS prev FROM write_transactions) g"
        " GROUP BY machine ORDER BY machine"
    ).fetchall()
    return {m: int(n) for m, n in rows}
