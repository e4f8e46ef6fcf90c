"""Export of a long run to Parquet against ``COPY ... TO`` of the same rows, same run.

An embedded PostgreSQL gets one run of ``--hours`` hours of ``--tags`` tags at
``--rate`` Hz (8 h x 10 Hz x 16 tags: 4.6 million run rows; the values a slow sine
with noise, as a reactor's readings compress, not constants), loaded by bulk binary
COPY into ``process_data_points`` and analysed, as autovacuum would. Then, alternating,
each ``--repeat`` times:

- the baseline: ``COPY (SELECT sampled_at, parameter_id, value FROM process_data_points
  WHERE run_id = ...) TO STDOUT (FORMAT BINARY)``, read by this process and dropped:
  what PostgreSQL costs to hand the run's rows out, with a client that costs nothing
  (binary, no order asked: the cheapest ``COPY ... TO`` there is). The same with
  ``FORMAT csv`` (what ``psql \\copy`` users compare with) is shown too;
- the export: ``store.export.export`` of the run to Parquet, wide (one column per tag),
  with its run metadata, through the reader role, written to a file on disk: windows
  of rows ordered by time, each packed into one value by the server (store.export_rows
  says why not COPY); also CSV long, shown for information.

The figure is rows per second, median of the repeats; goal: the Parquet export at
least 0.5 times the rows per second of the binary COPY. Each export is read back with
pyarrow (its rows and a checksum of its values against the database's). Prints a
table and a JSON line; exits 1 when the file is wrong, or (full mode) when the goal is
missed. ``--short``: 10 minutes of data, proves only that it runs.

    python benchmarks/export.py [--hours H] [--tags N] [--rate HZ] [--repeat R] [--short]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import struct
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow.compute as pc
import pyarrow.parquet as pq
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ald_gui.config.load import parse_config
from ald_gui.domain.stream import Run, RunEnded, RunStarted, RunStatus
from ald_gui.store.commit import commit_group
from ald_gui.store.export import ExportRequest, Format, Layout, export
from ald_gui.store.migrations import upgrade
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.roles import Group
from ald_gui.store.server import EmbeddedServer

MACHINE = "bench"
GOAL = 0.5
_PG_EPOCH_US = 946_684_800_000_000
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_ROW = np.dtype(
    [("n", ">i2"), ("l0", ">i4"), ("run_id", "S16"), ("l1", ">i4"), ("parameter_id", ">i4"),
     ("l2", ">i4"), ("at", ">i8"), ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"),
     ("tx", "S16")]
)  # fmt: skip
_LOAD_ROWS = 1_000_000  # per COPY payload while loading


def _config(tags: int) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "plc": {"host": "127.0.0.1", "port": 5020},
        "database": {"machine": MACHINE},
        "tags": [
            {"component": f"Zone {i}", "name": "value", "data_type": "float32",
             "register_kind": "holding", "address": 2 * i, "min": 0.0, "max": 1000.0,
             "unit": "°C"}
            for i in range(tags)
        ],
    }  # fmt: skip


@contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ald-bench-export-"))
    path.chmod(0o711)  # under root the server's account passes through to its data
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _load(dsn: str, tags: int, hours: float, rate: float) -> tuple[uuid.UUID, int, float]:
    """The run and its rows; returns (run id, rows, sum of the values)."""
    config = parse_config(_config(tags), "benchmark configuration")
    instants = int(hours * 3600 * rate)
    step_us = int(1e6 / rate)
    start_us = time.time_ns() // 1000 - instants * step_us - 10**6
    run = Run(uuid.uuid4(), MACHINE, "benchmark", start_us, recipe="")
    rng = np.random.default_rng(14)
    total = 0.0
    with psycopg.connect(dsn) as conn:
        upgrade(conn)
        ids = sync_parameters(conn, MACHINE, config.tags)
        commit_group(conn, uuid.uuid4(), [RunStarted(1, run)], ids, MACHINE)
        pids = np.array(sorted(ids.values()), dtype=np.int32)
        per_payload = max(1, _LOAD_ROWS // tags)
        tx = uuid.uuid4().bytes
        with conn.cursor() as cur:
            for first in range(0, instants, per_payload):
                n = min(per_payload, instants - first)
                at = start_us + (first + np.arange(n, dtype=np.int64)) * step_us
                phase = at[:, None] / 6e8 + np.arange(tags)[None, :]
                values = 200 + 50 * np.sin(phase) + rng.normal(0, 0.5, (n, tags))
                rows = np.zeros(n * tags, _ROW)
                rows["n"], rows["l0"], rows["l1"], rows["l2"] = 5, 16, 4, 8
                rows["l3"], rows["l4"] = 8, 16
                rows["run_id"], rows["tx"] = run.id.bytes, tx
                rows["parameter_id"] = np.tile(pids, n)
                rows["at"] = np.repeat(at - _PG_EPOCH_US, tags)
                rows["value"] = values.ravel()
                total += float(values.sum())
                copy_in = sql.SQL(
                    "COPY process_data_points (run_id, parameter_id, sampled_at, value,"
                    " transaction_id) FROM STDIN (FORMAT BINARY)"
                )
                with cur.copy(copy_in) as copy:
                    copy.write(_HEADER + rows.tobytes() + b"\xff\xff")
                conn.commit()
        end_us = start_us + instants * step_us
        commit_group(conn, uuid.uuid4(), [RunEnded(2, run.id, end_us, RunStatus.COMPLETED)],
                     ids, MACHINE)  # fmt: skip
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE process_data_points")
    return run.id, instants * tags, total


def _copy_out(dsn: str, run_id: uuid.UUID, form: str) -> float:
    query = sql.SQL(
        "COPY (SELECT sampled_at, parameter_id, value FROM process_data_points "
        "WHERE run_id = {}) TO STDOUT (FORMAT {})"
    ).format(sql.Literal(run_id), sql.SQL(form))
    start = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur, cur.copy(query) as copy:
        for _ in copy:
            pass
    return time.perf_counter() - start


def _export(dsn: str, run_id: uuid.UUID, target: Path, form: Format, layout: Layout) -> float:
    start = time.perf_counter()
    export(dsn, ExportRequest(target, form, layout, run=str(run_id)))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=8.0, help="length of the run (8)")
    parser.add_argument("--tags", type=int, default=16)
    parser.add_argument("--rate", type=float, default=10.0, help="samples per second (10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way (3)")
    parser.add_argument("--short", action="store_true", help="10 minutes of data")
    args = parser.parse_args()
    hours, repeat = (1 / 6, 2) if args.short else (args.hours, args.repeat)

    times: dict[str, list[float]] = {"copy_binary": [], "copy_csv": [], "parquet": [], "csv": []}
    with _workdir() as work, EmbeddedServer(work / "postgres") as server:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench_export")
        owner = make_conninfo(server.dsn, dbname="bench_export")
        print(f"loading {hours:g} h x {args.rate:g} Hz x {args.tags} tags ...", file=sys.stderr)
        loaded = time.perf_counter()
        run_id, rows, total = _load(owner, args.tags, hours, args.rate)
        load_s = time.perf_counter() - loaded
        reader = make_conninfo(server.login_dsn(Group.READER), dbname="bench_export")
        parquet, csv = work / "run.parquet", work / "run.csv"
        for i in range(repeat):
            ways = [
                ("copy_binary", lambda: _copy_out(reader, run_id, "BINARY")),
                ("copy_csv", lambda: _copy_out(reader, run_id, "CSV")),
                ("parquet", lambda: _export(reader, run_id, parquet, Format.PARQUET,
                                            Layout.WIDE)),
                ("csv", lambda: _export(reader, run_id, csv, Format.CSV, Layout.LONG)),
            ]  # fmt: skip
            for name, way in ways[i % 4 :] + ways[: i % 4]:  # each goes first in turn
                print(f"  {name} ({i + 1}/{repeat}) ...", file=sys.stderr)
                times[name].append(way())
        table = pq.read_table(parquet)
        values = table.drop_columns(["time"])
        read_rows = sum(len(c) - c.null_count for c in values.columns)
        read_sum = sum(pc.sum(c).as_py() for c in values.columns)
        whole = read_rows == rows and abs(read_sum - total) <= 1e-9 * abs(total)
        size_mb = parquet.stat().st_size / 1e6
        metadata = table.schema.metadata[b"run_id"].decode() == str(run_id)

    rps = {k: rows / statistics.median(v) for k, v in times.items()}
    ratio = rps["parquet"] / rps["copy_binary"]
    print(f"run of {hours:g} h, {args.tags} tags at {args.rate:g} Hz: {rows:,} rows "
          f"(loaded in {load_s:.1f} s); median of {repeat}")  # fmt: skip
    print(f"{'way':<34} {'seconds':>8} {'rows/s':>12} {'vs binary COPY':>15}")
    names = {
        "copy_binary": "COPY ... TO (binary), the baseline",
        "copy_csv": "COPY ... TO (csv)",
        "parquet": "export to Parquet, wide",
        "csv": "export to CSV, long",
    }
    for key, name in names.items():
        print(f"{name:<34} {statistics.median(times[key]):>8.2f} {rps[key]:>12,.0f} "
              f"{rps[key] / rps['copy_binary']:>15.2f}")  # fmt: skip
    print(f"Parquet file: {size_mb:.1f} MB, {table.num_rows:,} instants; rows and values "
          f"read back {'equal' if whole else 'DIFFERENT'}; run metadata "
          f"{'present' if metadata else 'MISSING'}")  # fmt: skip
    missed = [] if ratio >= GOAL else [f"Parquet export at {ratio:.2f} of COPY (goal >= {GOAL})"]
    if not args.short:
        print(f"goal: Parquet >= {GOAL} x binary COPY: {'met' if not missed else 'NOT met'}")
    print(json.dumps({
        "benchmark": "export", "short": args.short, "rows": rows, "hours": hours,
        "tags": args.tags, "rate_hz": args.rate, "repeat": repeat,
        "seconds": {k: round(statistics.median(v), 3) for k, v in times.items()},
        "rows_per_s": {k: round(v) for k, v in rps.items()},
        "ratio_parquet_to_copy": round(ratio, 3), "parquet_mb": round(size_mb, 1),
        "read_back_equal": whole, "metadata": metadata, "goals_missed": missed,
    }))  # fmt: skip
    if not (whole and metadata):
        return 1
    return 0 if args.short or not missed else 1


if __name__ == "__main__":
    sys.exit(main())
