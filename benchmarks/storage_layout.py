"""The history's storage layout, measured: a row per tag per sample against a row per
sample instant.

Two layouts of the same samples (the reference reactor's polled tags at 10 Hz) in one
embedded PostgreSQL, both with the indexes their queries need:

- **per tag** (today's): ``parameter_value_history`` itself, as the migrations make it
  (where the migrations partition it by time, these rows of 2026-01-01 go to its
  default partition; sizes are summed over its partitions),
  one row (parameter_id, sampled_at, value, transaction_id) per tag per sample, a
  B-tree on (parameter_id, sampled_at) and a BRIN on sampled_at;
- **per instant**: one row (machine_id, sampled_at, values float8[], transaction_id)
  per sample instant, the values in the machine's tag order (element k is the k-th
  polled tag), a B-tree on (machine_id, sampled_at) and a BRIN on sampled_at.

Figures, each layout against the other in the same run:

- ingest: the same instants by binary COPY (encoded with numpy, so the client costs
  next to nothing and the server's work is what is measured), one transaction per group
  of ``--group`` instants, the layouts alternating group by group so that machine noise
  falls on both alike; rows/s and samples (tag values) per second;
- bytes on disk per hour per tool: ``pg_total_relation_size`` (heap, indexes, TOAST)
  after ``--hours`` hours of the tool's samples (the ingested ones, the rest generated
  by the server with the same values), divided by the hours;
- query time for one tag over the whole span (8 h by default), warm cache, median of 5:
  ``WHERE parameter_id = … AND sampled_at …`` against ``values[k] … WHERE machine_id = …
  AND sampled_at …``; the two answers must be equal value for value (exit 1 otherwise).

    python benchmarks/storage_layout.py [--hours 8] [--ingest-s 300] [--short]

No goal is judged: the figures are what the choice of layout rests on (README, *Capacity
planning*). Exit status 1 when the two layouts answer differently. Everything started
here is stopped and removed on exit, also on Ctrl+C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from support.copy_rows import (
    HISTORY_COPY,
    START,
    VALUE_SQL,
    array_payload,
    history_payload,
)

from ald_gui.config.load import load_config
from ald_gui.store.migrations import upgrade
from ald_gui.store.server import EmbeddedServer

RATE_HZ = 10.0
HOUR_INSTANTS = int(3600 * RATE_HZ)
STEP_US = int(1_000_000 / RATE_HZ)

PER_INSTANT_DDL = """
CREATE TABLE sample_rows (
    machine_id integer NOT NULL,
    sampled_at timestamptz NOT NULL,
    "values" double precision[] NOT NULL,
    transaction_id uuid NOT NULL
);
CREATE INDEX sample_rows_machine_time ON sample_rows (machine_id, sampled_at);
CREATE INDEX sample_rows_time ON sample_rows USING brin (sampled_at);
"""


def per_tag_payload(first: int, count: int, tags: int, group: int) -> bytes:
    return history_payload(first, count, tags, group, STEP_US)


def per_instant_payload(first: int, count: int, tags: int, group: int) -> bytes:
    return array_payload(first, count, tags, group, STEP_US)


_COPY = {
    "per_tag": HISTORY_COPY,
    "per_instant": 'COPY sample_rows (machine_id, sampled_at, "values", transaction_id)'
    " FROM STDIN (FORMAT BINARY)",
}
_PAYLOAD = {"per_tag": per_tag_payload, "per_instant": per_instant_payload}
_TABLE = {"per_tag": "parameter_value_history", "per_instant": "sample_rows"}


def ingest(conn: psycopg.Connection[Any], instants: int, tags: int, group: int) -> dict[str, Any]:
    """COPY ``instants`` samples into both layouts, alternating group by group; the
    payloads are encoded before the clock starts."""
    seconds = {"per_tag": 0.0, "per_instant": 0.0}
    for first in range(0, instants, group):
        count = min(group, instants - first)
        for layout in (
            ("per_tag", "per_instant") if first % (2 * group) else ("per_instant", "per_tag")
        ):
            payload = _PAYLOAD[layout](first, count, tags, group)
            began = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur, cur.copy(_COPY[layout]) as copy:
                copy.write(payload)
            seconds[layout] += time.perf_counter() - began
    samples = instants * tags
    return {
        "instants": instants,
        "group": group,
        **{
            layout: {
                "seconds": round(s, 3),
                "rows_per_s": round((samples if layout == "per_tag" else instants) / s),
                "samples_per_s": round(samples / s),
            }
            for layout, s in seconds.items()
        },
    }


def fill(conn: psycopg.Connection[Any], first: int, last: int, tags: int, group: int) -> None:
    """Instants [first, last) into both layouts, generated by the server, in time order."""
    instants = "generate_series(%(first)s::bigint, %(last)s::bigint - 1) AS i"
    at = "%(start)s::timestamptz + i * interval '100 milliseconds'"
    tx = "lpad(to_hex(i / %(group)s), 32, '0')::uuid"
    args = {"first": first, "last": last, "start": START, "group": group}
    with conn.transaction():
        conn.execute(
            f"INSERT INTO parameter_value_history SELECT k + 1, {at}, {VALUE_SQL}, {tx} "
            f"FROM {instants}, generate_series(0, {tags - 1}) AS k ORDER BY i, k",
            args,
        )
    with conn.transaction():
        conn.execute(
            f"INSERT INTO sample_rows SELECT 1, {at}, "
            f"ARRAY(SELECT {VALUE_SQL} FROM generate_series(0, {tags - 1}) AS k ORDER BY k), "
            f"{tx} FROM {instants}",
            args,
        )


_QUERIES = {
    "per_tag": "SELECT sampled_at, value FROM parameter_value_history"
    " WHERE parameter_id = %(k)s + 1 AND sampled_at >= %(a)s AND sampled_at < %(b)s"
    " ORDER BY sampled_at",
    "per_instant": 'SELECT sampled_at, "values"[%(k)s + 1] FROM sample_rows'
    " WHERE machine_id = 1 AND sampled_at >= %(a)s AND sampled_at < %(b)s ORDER BY sampled_at",
}


def one_tag(conn: psycopg.Connection[Any], k: int, hours: float) -> dict[str, Any]:
    """Time of the query for tag position ``k`` over the whole span, in each layout,
    and whether the answers are equal."""
    span = {"k": k, "a": START, "b": START + timedelta(hours=hours)}
    answers: dict[str, list[Any]] = {}
    times: dict[str, list[float]] = {"per_tag": [], "per_instant": []}
    for attempt in range(6):  # the first warms the cache and is not counted
        for layout, query in _QUERIES.items():
            began = time.perf_counter()
            rows = conn.execute(query, span).fetchall()
            if attempt:
                times[layout].append(time.perf_counter() - began)
            answers[layout] = rows
    plans = {
        layout: " / ".join(
            r[0].strip() for r in conn.execute("EXPLAIN (COSTS OFF) " + q, span).fetchall()
        )
        for layout, q in _QUERIES.items()
    }
    return {
        "tag_position": k,
        "rows_returned": len(answers["per_tag"]),
        "answers_equal": answers["per_tag"] == answers["per_instant"],
        **{
            layout: {"median_ms": round(statistics.median(t) * 1e3, 1), "plan": plans[layout]}
            for layout, t in times.items()
        },
    }


def sizes(conn: psycopg.Connection[Any], hours: float) -> dict[str, Any]:
    """Each layout's rows and bytes on disk, summed over its partitions if it has any
    (a partitioned table's own size is 0)."""
    out = {}
    for layout, table in _TABLE.items():
        heap, total, rows = conn.execute(
            # pg_partition_tree lists no row for a table without partitions: add the table.
            "SELECT sum(pg_relation_size(r))::bigint, sum(pg_total_relation_size(r))::bigint,"
            f" (SELECT count(*) FROM {table}) FROM (SELECT relid AS r FROM"
            " pg_partition_tree(%(t)s::regclass) UNION SELECT %(t)s::regclass) t",
            {"t": table},
        ).fetchone()  # type: ignore[misc]
        out[layout] = {
            "rows": rows,
            "total_bytes": total,
            "heap_bytes": heap,
            "index_and_toast_bytes": total - heap,
            "bytes_per_hour": round(total / hours),
            "bytes_per_row": round(total / rows, 1),
        }
    return out


@contextmanager
def temporary_directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ald-bench-layout-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    tags = len(load_config().polled_tags)
    hours = 0.1 if args.short else args.hours
    ingested = int((10.0 if args.short else args.ingest_s) * RATE_HZ)
    total = int(hours * HOUR_INSTANTS)
    if ingested > total:
        raise SystemExit(f"--ingest-s ({args.ingest_s} s) is longer than --hours ({hours} h)")
    with temporary_directory() as workdir, EmbeddedServer(workdir / "postgres") as server:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier("layout")))
        with psycopg.connect(make_conninfo(server.dsn, dbname="layout")) as conn:
            upgrade(conn)
            conn.execute(PER_INSTANT_DDL)
            conn.commit()
            conn.autocommit = True
            print(f"ingest: {ingested} instants x {tags} tags ...", file=sys.stderr, flush=True)
            copied = ingest(conn, ingested, tags, args.group)
            print(f"fill to {hours:g} h ({total} instants) ...", file=sys.stderr, flush=True)
            step = HOUR_INSTANTS // 4  # a quarter hour per statement keeps memory small
            for first in range(ingested, total, step):
                fill(conn, first, min(first + step, total), tags, args.group)
            conn.execute("VACUUM (ANALYZE) parameter_value_history")
            conn.execute("VACUUM (ANALYZE) sample_rows")
            print("query one tag ...", file=sys.stderr, flush=True)
            query = one_tag(conn, tags // 2, hours)
            disk = sizes(conn, hours)
            server_version = conn.info.server_version
    return {
        "tags": tags,
        "rate_hz": RATE_HZ,
        "hours": hours,
        "server_version": server_version,
        "ingest": copied,
        "disk": disk,
        "query_one_tag": query,
    }


def _speed(ratio: float) -> str:
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def report(result: dict[str, Any], short: bool) -> bool:
    ing, disk, q = result["ingest"], result["disk"], result["query_one_tag"]
    a, b = "per_tag", "per_instant"
    print(
        f"{result['tags']} tags at {result['rate_hz']:g} Hz, {result['hours']:g} h of one tool, "
        f"embedded PostgreSQL {result['server_version'] // 10000}; "
        f"ingest by binary COPY, {ing['group']} instants per transaction"
    )
    rows = [
        ("ingest rows/s", f"{ing[a]['rows_per_s']:,}", f"{ing[b]['rows_per_s']:,}", ""),
        ("ingest samples/s", f"{ing[a]['samples_per_s']:,}", f"{ing[b]['samples_per_s']:,}",
         f"{ing[b]['samples_per_s'] / ing[a]['samples_per_s']:.1f}x"),
        ("rows", f"{disk[a]['rows']:,}", f"{disk[b]['rows']:,}", ""),
        ("bytes per row (all)", f"{disk[a]['bytes_per_row']:,}", f"{disk[b]['bytes_per_row']:,}",
         ""),
        ("heap MB", f"{disk[a]['heap_bytes'] / 1e6:,.1f}", f"{disk[b]['heap_bytes'] / 1e6:,.1f}",
         ""),
        ("indexes + TOAST MB", f"{disk[a]['index_and_toast_bytes'] / 1e6:,.1f}",
         f"{disk[b]['index_and_toast_bytes'] / 1e6:,.1f}", ""),
        ("MB on disk per hour", f"{disk[a]['bytes_per_hour'] / 1e6:,.1f}",
         f"{disk[b]['bytes_per_hour'] / 1e6:,.1f}",
         f"{disk[a]['bytes_per_hour'] / disk[b]['bytes_per_hour']:.1f}x smaller"),
        (f"one tag over {result['hours']:g} h, ms", f"{q[a]['median_ms']:,}",
         f"{q[b]['median_ms']:,}", _speed(q[a]["median_ms"] / q[b]["median_ms"])),
    ]  # fmt: skip
    print(f"{'figure':<26} {'per tag (today)':>18} {'per instant':>18} {'per instant vs':>18}")
    for name, x, y, ratio in rows:
        print(f"{name:<26} {x:>18} {y:>18} {ratio:>18}")
    print(f"answers equal ({q['rows_returned']:,} rows): {'yes' if q['answers_equal'] else 'NO'}")
    if short:
        print("(short run: figures prove only that it works)")
    print(json.dumps({"benchmark": "storage_layout", "short": short, **result}))
    return bool(q["answers_equal"])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=8.0, help="span of one tool's samples")
    parser.add_argument(
        "--ingest-s", type=float, default=300.0, help="seconds of samples ingested by COPY"
    )
    parser.add_argument("--group", type=int, default=10, help="instants per transaction")
    parser.add_argument("--short", action="store_true", help="a quick run that proves it works")
    args = parser.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored
        signal.signal(sig, _interrupt)
    try:
        return 0 if report(run(args), args.short) else 1
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
