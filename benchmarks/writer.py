"""The historian under load: its atomic commit against bulk COPY, and 1,000 tags at 10 Hz.

Part 1, commit throughput: the same batches (1,000 tags, a run active, so 2,000 rows per
batch) are written into the same tables of the same embedded PostgreSQL, one transaction
per group, three ways:

- ``commit_group``: the project's commit (ledger row first, checks, history and run
  rows under one transaction id, each row handed to psycopg's ``write_row``);
- bulk COPY, the baseline: the same rows as one binary COPY payload per table, encoded
  here with numpy and sent with one ``write()`` (no ledger, no checks, no per-row
  Python): what PostgreSQL costs for these rows, with a client that costs next to
  nothing. Written in this file, independently of the project's COPY routine;
- row COPY: the same rows through ``write_row`` one by one, as ``commit_group`` does,
  but with no ledger and no checks: commit_group / row COPY is what the ledger and the
  checks cost, row COPY / bulk COPY what encoding row by row in Python costs.

The three alternate group by group, so table and index growth, checkpoints and machine
noise fall on all alike. Group sizes are those the writer forms: 1 batch (the steady
state at 10 Hz: it commits what arrived during the previous commit), 10, and 50 (its
cap of 50,000 values per group, reached when it catches up after an outage). Goal:
commit_group at least 0.7 times the rows per second of bulk COPY, at every group size.

Part 2, sustained load: the whole path for ``--duration`` seconds. A Poller (QThread)
samples a simulator serving 1,000 float32 holding tags every 0.1 s with a run active,
and hands every batch to a real Writer, which journals it in a real Spool and commits it
to PostgreSQL. The simulator runs in a process of its own, as a PLC is a device of its
own (``--simulator thread`` puts it in this process instead). Figures, each with its
baseline measured in the same run:

- sample-to-commit latency p50/p99 (goal p99 <= 500 ms), against one commit of one
  batch on an idle database (part 1, 1-batch groups): the floor any sample pays;
- poll jitter p99 (goal <= 5 ms), against the same Poller polling the same simulator
  with no writer and no database work (``--baseline`` seconds, before the load);
- missed cycles; memory growth of this process (VmRSS, goal <= 20 MB per 10 minutes);
- nothing lost: batches emitted by the poller against history and run rows in
  PostgreSQL after the writer drained (exactly 1,000 of each per batch), the invariant
  checks of ``ald-gui doctor``, and an empty spool.

    python benchmarks/writer.py [--duration S] [--simulator process|thread] [--short]

Everything started here (database server, simulator, threads, the temporary directory)
is stopped and removed on exit, also on Ctrl+C or SIGTERM. Exit status: 1 if anything
was lost, or, in full mode, if any goal was missed; ``--short`` (CI) only proves that
it runs, and judges no figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import psycopg
import tomli_w
from psycopg import sql
from psycopg.conninfo import make_conninfo
from PySide6.QtCore import QCoreApplication, Qt
from support.simulator import simulator_process

from ald_gui.config.load import parse_config
from ald_gui.config.models import AppConfig
from ald_gui.domain.commands import StartRun, StopRun
from ald_gui.domain.health import PlcHealth
from ald_gui.domain.stream import Batch, Run, RunStarted, RunStatus, StreamItem, now_us
from ald_gui.engine.poller import Poller
from ald_gui.sim.server import Simulator
from ald_gui.store.commit import commit_group
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.store.invariants import check_invariants
from ald_gui.store.migrations import upgrade
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.server import EmbeddedServer
from ald_gui.store.spool import Spool
from ald_gui.store.writer import Writer

MACHINE = "bench"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COPY_HISTORY = sql.SQL(
    "COPY parameter_value_history (parameter_id, sampled_at, value, transaction_id)"
    " FROM STDIN (FORMAT BINARY)"
)
_COPY_RUN_POINTS = sql.SQL(
    "COPY process_data_points (run_id, parameter_id, sampled_at, value, transaction_id)"
    " FROM STDIN (FORMAT BINARY)"
)


# -- set-up -------------------------------------------------------------------------


def synthetic_config(tags: int, interval_s: float) -> dict[str, Any]:
    """A configuration (TOML-ready) of ``tags`` float32 holding registers, back to back."""
    return {
        "schema_version": 1,
        "plc": {"host": "127.0.0.1", "port": 5020},
        "poll": {"interval_s": interval_s},
        "database": {"machine": MACHINE},
        "tags": [
            {
                "component": f"Zone {i // 10:04d}",
                "name": f"value {i % 10}",
                "data_type": "float32",
                "register_kind": "holding",
                "address": 2 * i,
                "min": 0.0,
                "max": 1000.0,
            }
            for i in range(tags)
        ],
    }


@contextmanager
def temporary_directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ald-bench-writer-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def new_database(server: EmbeddedServer, name: str) -> str:
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(server.dsn, dbname=name)


@contextmanager
def simulator_thread(config: AppConfig) -> Iterator[int]:
    with Simulator(config) as simulator:
        yield simulator.port


def _p(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


# -- part 1: commit throughput --------------------------------------------------------


class _Batches:
    """Batches of every tag, 0.1 s apart, in one run, as the poll thread makes them."""

    def __init__(self, keys: Sequence[str], run: Run, seq: int) -> None:
        self.keys, self.run, self.seq = keys, run, seq
        self.t = run.started_at_us

    def take(self, n: int) -> list[Batch]:
        out = []
        for _ in range(n):
            self.seq += 1
            self.t += 100_000
            base = self.seq % 1000
            values = {key: base + j * 0.001 for j, key in enumerate(self.keys)}
            out.append(Batch(self.seq, self.t, values, self.run.id))
        return out


def _timestamp(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


# PostgreSQL's binary COPY: a signature, flags and header extension, tuples, -1.
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_PGCOPY_TRAILER = struct.pack(">h", -1)
_PG_EPOCH_US = 946_684_800_000_000  # timestamptz counts microseconds from 2000-01-01
_FIELDS = [("n", ">i2")]
_HISTORY_ROW = np.dtype(
    [*_FIELDS, ("l1", ">i4"), ("parameter_id", ">i4"), ("l2", ">i4"), ("at", ">i8"),
     ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"), ("tx", "S16")]
)  # fmt: skip
_RUN_POINT_ROW = np.dtype(
    [*_FIELDS, ("l0", ">i4"), ("run_id", "S16"), ("l1", ">i4"), ("parameter_id", ">i4"),
     ("l2", ">i4"), ("at", ">i8"), ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"),
     ("tx", "S16")]
)  # fmt: skip


def _payload(
    batches: Sequence[Batch], ids: dict[str, int], tx: uuid.UUID, *, into_run: bool
) -> bytes:
    """The rows of ``batches`` as one binary COPY payload, encoded column-wise."""
    keys = list(batches[0].values)
    rows = np.zeros(len(batches) * len(keys), _RUN_POINT_ROW if into_run else _HISTORY_ROW)
    rows["n"] = 5 if into_run else 4
    rows["l1"], rows["l2"], rows["l3"], rows["l4"] = 4, 8, 8, 16
    rows["parameter_id"] = np.tile(np.array([ids[k] for k in keys]), len(batches))
    at = np.array([b.sampled_at_us for b in batches], dtype=np.int64) - _PG_EPOCH_US
    rows["at"] = np.repeat(at, len(keys))
    rows["value"] = np.concatenate([np.fromiter(b.values.values(), float) for b in batches])
    rows["tx"] = tx.bytes
    if into_run:
        rows["l0"] = 16
        rows["run_id"] = np.repeat(
            [b.run_id.bytes if b.run_id else b"" for b in batches], len(keys)
        )
    return _PGCOPY_HEADER + rows.tobytes() + _PGCOPY_TRAILER


def bulk_copy(conn: psycopg.Connection[Any], batches: Sequence[Batch], ids: dict[str, int]) -> None:
    """The baseline: the same history and run rows, one binary COPY payload per table in
    one transaction, no ledger row, no checks, no per-row Python."""
    tx = uuid.uuid4()
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(_COPY_HISTORY) as copy:
            copy.write(_payload(batches, ids, tx, into_run=False))
        with cur.copy(_COPY_RUN_POINTS) as copy:
            copy.write(_payload(batches, ids, tx, into_run=True))


def row_copy(conn: psycopg.Connection[Any], batches: Sequence[Batch], ids: dict[str, int]) -> None:
    """The same rows by binary COPY row by row (psycopg's ``write_row``), one
    transaction, no ledger row and no checks."""
    tx = uuid.uuid4()
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(_COPY_HISTORY) as copy:
            copy.set_types(["int4", "timestamptz", "float8", "uuid"])
            for b in batches:
                at = _timestamp(b.sampled_at_us)
                for key, value in b.values.items():
                    copy.write_row((ids[key], at, value, tx))
        with cur.copy(_COPY_RUN_POINTS) as copy:
            copy.set_types(["uuid", "int4", "timestamptz", "float8", "uuid"])
            for b in batches:
                at = _timestamp(b.sampled_at_us)
                for key, value in b.values.items():
                    copy.write_row((b.run_id, ids[key], at, value, tx))


@dataclass
class GroupFigures:
    batches: int
    groups: int
    rows_per_group: int
    commit_s: list[float] = field(default_factory=list)
    bulk_s: list[float] = field(default_factory=list)
    row_s: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int]:
        rows = self.groups * self.rows_per_group
        commit_rps, bulk_rps = rows / sum(self.commit_s), rows / sum(self.bulk_s)
        row_rps = rows / sum(self.row_s)
        return {
            "batches_per_group": self.batches,
            "rows_per_group": self.rows_per_group,
            "groups": self.groups,
            "commit_group_rows_per_s": round(commit_rps),
            "bulk_copy_rows_per_s": round(bulk_rps),
            "row_copy_rows_per_s": round(row_rps),
            "ratio": round(commit_rps / bulk_rps, 3),
            "ratio_to_row_copy": round(commit_rps / row_rps, 3),
            "commit_group_median_ms": round(statistics.median(self.commit_s) * 1e3, 2),
            "bulk_copy_median_ms": round(statistics.median(self.bulk_s) * 1e3, 2),
            "row_copy_median_ms": round(statistics.median(self.row_s) * 1e3, 2),
        }


def commit_throughput(
    dsn: str, config: AppConfig, group_sizes: Sequence[int], rows_budget: int
) -> list[GroupFigures]:
    """Part 1 (see the module docstring). ``rows_budget``: rows per way and group size."""
    keys = [t.key for t in config.polled_tags]
    rows_per_batch = 2 * len(keys)  # history + run rows
    results = []
    with psycopg.connect(dsn) as conn:
        upgrade(conn)
        ids = sync_parameters(conn, MACHINE, config.tags)
        run = Run(uuid.uuid4(), MACHINE, "benchmark", now_us() - 3600 * 10**6)
        commit_group(conn, uuid.uuid4(), [RunStarted(1, run)], ids, MACHINE)
        stream = _Batches(keys, run, seq=1)

        def by_commit_group(batches: list[Batch]) -> None:
            commit_group(conn, uuid.uuid4(), batches, ids, MACHINE)

        for size in group_sizes:
            rows_per_group = size * rows_per_batch
            figures = GroupFigures(size, max(1, rows_budget // rows_per_group), rows_per_group)
            ways: list[tuple[Callable[[list[Batch]], None], list[float]]] = [
                (by_commit_group, figures.commit_s),
                (lambda b: bulk_copy(conn, b, ids), figures.bulk_s),
                (lambda b: row_copy(conn, b, ids), figures.row_s),
            ]
            for write, _ in ways:  # warm-up, untimed: plans, buffers, caches
                write(stream.take(size))
            for i in range(figures.groups):
                for write, times in ways[i % 3 :] + ways[: i % 3]:  # each goes first in turn
                    batches = stream.take(size)
                    start = time.perf_counter()
                    write(batches)
                    times.append(time.perf_counter() - start)
            results.append(figures)
    return results


# -- part 2: sustained load -----------------------------------------------------------


class _Counter:
    """The poller's sink: counts what the poll thread emits, then hands it on."""

    def __init__(self, forward: Callable[[Sequence[StreamItem]], None] | None) -> None:
        self._forward = forward
        self.batches = 0
        self.batches_in_run = 0

    def __call__(self, items: Sequence[StreamItem]) -> None:
        for item in items:
            if isinstance(item, Batch):
                self.batches += 1
                self.batches_in_run += item.run_id is not None
        if self._forward is not None:
            self._forward(items)


class _HealthLog:
    """The poller's latest health, and the worst jitter p99 it reported once ``armed``.

    Connected directly (called in the poll thread): nothing is queued for an event loop
    this script does not run."""

    def __init__(self) -> None:
        self.latest: PlcHealth | None = None
        self.worst_jitter_p99_s = 0.0
        self.armed = False

    def __call__(self, health: PlcHealth) -> None:
        self.latest = health
        if self.armed:
            self.worst_jitter_p99_s = max(self.worst_jitter_p99_s, health.jitter_p99_s)


def _start_poller(
    stack: ExitStack, config: AppConfig, sink: _Counter, health: _HealthLog
) -> Poller:
    poller = Poller(config, sink, MACHINE)
    poller.health.connect(health, Qt.ConnectionType.DirectConnection)

    def stop() -> None:
        poller.request_shutdown()
        if not poller.wait(10_000):
            print("warning: the poll thread did not stop within 10 s", file=sys.stderr)

    stack.callback(stop)
    return poller


def _wait(seconds: float, every: Callable[[], None] | None = None, step: float = 1.0) -> None:
    """Sleep ``seconds`` (interruptible by Ctrl+C), calling ``every`` about every ``step``."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(step, left))
        if every is not None:
            every()


def idle_poll_jitter(config: AppConfig, seconds: float) -> PlcHealth:
    """The baseline of part 2: the same Poller, no writer, no database work."""
    health = _HealthLog()
    with ExitStack() as stack:
        poller = _start_poller(stack, config, _Counter(None), health)
        poller.start()
        _wait(seconds)
    assert health.latest is not None, "the idle poller never polled"
    return health.latest


def sustained_load(
    stack: ExitStack,
    dsn: str,
    spool_path: Path,
    config: AppConfig,
    duration_s: float,
    warmup_s: float,
) -> dict[str, Any]:
    """Part 2 (see the module docstring)."""
    connected = threading.Event()

    def on_event(event: WriterEvent) -> None:
        if event.kind is WriterEventKind.DATABASE_CONNECTED:
            connected.set()

    spool = stack.enter_context(Spool(spool_path))
    writer = Writer(dsn, spool, MACHINE, config.tags, on_event=on_event)
    writer_stopped = False

    def stop_writer() -> None:
        if not writer_stopped:
            writer.stop(timeout=5.0)

    stack.callback(stop_writer)
    writer.start()
    if not connected.wait(30):
        raise SystemExit(f"the writer did not connect to the database: {writer.health()}")

    counter, health = _Counter(writer.submit), _HealthLog()
    poller = _start_poller(stack, config, counter, health)
    poller.submit(StartRun("benchmark", "1,000 tags at 10 Hz"))  # applied before the 1st poll
    cpu0, wall0 = os.times(), time.monotonic()
    poller.start()

    deepest = {"queue": 0, "spool": 0}

    def watch_writer() -> None:
        h = writer.health()
        deepest["queue"] = max(deepest["queue"], h.queue_depth)
        deepest["spool"] = max(deepest["spool"], h.spool_depth)

    _wait(warmup_s, watch_writer)
    health.armed = True
    latencies_before = len(writer.sample_latencies())
    rss: list[tuple[float, float]] = [(time.monotonic(), _rss_mb())]

    def watch() -> None:
        watch_writer()
        rss.append((time.monotonic(), _rss_mb()))

    _wait(duration_s - warmup_s, watch)
    cpu1, wall1 = os.times(), time.monotonic()
    end_health = health.latest
    assert end_health is not None, "the poller never polled"

    poller.submit(StopRun("benchmark done", RunStatus.COMPLETED))
    poller.request_shutdown()
    poller.wait(10_000)
    drain_start = time.monotonic()
    writer_stopped = True
    drained = writer.stop(timeout=120.0)
    drain_s = time.monotonic() - drain_start
    latencies = writer.sample_latencies()[latencies_before:]

    with psycopg.connect(dsn) as conn:
        (history_rows, history_batches) = conn.execute(
            "SELECT count(*), count(DISTINCT sampled_at) FROM parameter_value_history"
        ).fetchone() or (0, 0)
        (run_rows,) = conn.execute("SELECT count(*) FROM process_data_points").fetchone() or (0,)
        groups = [
            r[0] // len(config.polled_tags)
            for r in conn.execute("SELECT history_rows FROM write_transactions ORDER BY first_seq")
            if r[0] > 0
        ]
        (status,) = conn.execute(
            "SELECT string_agg(status, ',') FROM process_executions"
        ).fetchone() or ("",)
        # Fresh tables have no statistics until autovacuum gets to them; without them one
        # check takes a nested-loop plan that needs 30 s for 600,000 rows, not 0.5 s.
        conn.execute("ANALYZE")
        conn.commit()
        check_start = time.monotonic()
        violations = check_invariants(conn, MACHINE)
        check_s = time.monotonic() - check_start

    tags = len(config.polled_tags)
    measured_s = rss[-1][0] - rss[0][0]
    growth_mb = rss[-1][1] - rss[0][1]
    slope = _slope(rss)
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (wall1 - wall0)
    return {
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "tags": tags,
        "interval_s": config.poll.interval_s,
        "requests_per_poll": end_health.requests_per_poll,
        "latency_p50_ms": round(_p(latencies, 0.5) * 1e3, 1),
        "latency_p99_ms": round(_p(latencies, 0.99) * 1e3, 1),
        "latency_max_ms": round(max(latencies, default=0.0) * 1e3, 1),
        "latency_samples": len(latencies),
        "jitter_p99_ms": round(end_health.jitter_p99_s * 1e3, 2),
        "jitter_p99_worst_window_ms": round(health.worst_jitter_p99_s * 1e3, 2),
        "polls": end_health.polls,
        "failed_polls": end_health.failed_polls,
        "missed_cycles": end_health.missed_cycles,
        "plc_round_trip_ms": round((end_health.round_trip_s or 0.0) * 1e3, 2),
        "rss_start_mb": round(rss[0][1], 1),
        "rss_end_mb": round(rss[-1][1], 1),
        "rss_growth_mb": round(growth_mb, 2),
        "rss_growth_mb_per_10min_endpoints": round(growth_mb * 600 / measured_s, 2),
        "rss_growth_mb_per_10min_fit": round(slope * 600, 2),
        "cpu_percent_of_one_core": round(100 * cpu, 1),
        "deepest_queue": deepest["queue"],
        "deepest_spool": deepest["spool"],
        "batches_per_group_mean": round(statistics.fmean(groups), 2) if groups else 0,
        "batches_per_group_max": max(groups, default=0),
        "transactions": len(groups),
        "drain_s": round(drain_s, 2),
        "drained": drained,
        "spool_left": spool.depth(),
        "dead_letters": spool.dead_letter_count(),
        "batches_emitted": counter.batches,
        "batches_in_run": counter.batches_in_run,
        "history_rows": history_rows,
        "history_batches": history_batches,
        "run_rows": run_rows,
        "run_status": status,
        "lossless": (
            drained
            and spool.depth() == 0
            and history_rows == tags * counter.batches
            and history_batches == counter.batches
            and run_rows == tags * counter.batches_in_run
            and counter.batches_in_run == counter.batches
        ),
        "invariant_violations": [str(v) for v in violations],
        "invariant_check_s": round(check_s, 2),
    }


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope (MB per second) of RSS over time."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


# -- main -------------------------------------------------------------------------------


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(stack: ExitStack, args: argparse.Namespace) -> dict[str, Any]:
    short = args.short
    duration = 5.0 if short else args.duration
    warmup = 1.0 if short else min(args.warmup, duration / 2)
    baseline_s = 1.5 if short else args.baseline
    rows_budget = 20_000 if short else args.rows
    group_sizes = [int(s) for s in args.groups.split(",")]

    data = synthetic_config(args.tags, 1.0 / args.rate)
    config = parse_config(data, "synthetic configuration")
    workdir = stack.enter_context(temporary_directory())
    server = stack.enter_context(EmbeddedServer(workdir / "postgres"))

    print(
        f"part 1: commit_group against bulk and row COPY, {args.tags} tags, groups of "
        f"{args.groups} batches ...",
        file=sys.stderr,
        flush=True,
    )
    commit = commit_throughput(
        new_database(server, "bench_commit"), config, group_sizes, rows_budget
    )
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        # Part 1's rows must not be vacuumed, nor its WAL checkpointed, during part 2.
        admin.execute("DROP DATABASE bench_commit")
        admin.execute("CHECKPOINT")

    if args.simulator == "process":
        config_file = workdir / "synthetic.toml"
        config_file.write_text(tomli_w.dumps(data), encoding="utf-8")
        port = stack.enter_context(simulator_process(config_file))
    else:
        port = stack.enter_context(simulator_thread(config))
    config = config.model_copy(update={"plc": config.plc.model_copy(update={"port": port})})

    print(
        f"part 2: baseline, polling with no writer for {baseline_s:g} s ...",
        file=sys.stderr,
        flush=True,
    )
    idle = idle_poll_jitter(config, baseline_s)
    print(
        f"part 2: {args.tags} tags at {args.rate:g} Hz with a run, {duration:g} s ...",
        file=sys.stderr,
        flush=True,
    )
    load = sustained_load(
        stack,
        new_database(server, "bench_load"),
        workdir / "spool.sqlite3",
        config,
        duration,
        warmup,
    )
    single = next((g for g in commit if g.batches == 1), commit[0])
    load["baseline_single_commit_ms"] = round(statistics.median(single.commit_s) * 1e3, 2)
    load["baseline_idle_jitter_p99_ms"] = round(idle.jitter_p99_s * 1e3, 2)
    load["baseline_idle_missed_cycles"] = idle.missed_cycles
    load["simulator"] = args.simulator
    return {"commit": [g.as_dict() for g in commit], "load": load}


def report(result: dict[str, Any], short: bool) -> tuple[bool, list[str]]:
    """Print the tables and the JSON line; (nothing was lost, the goals missed)."""
    print(
        f"{'batches/group':>13} {'rows/group':>10} {'groups':>6} {'commit_group rows/s':>20}"
        f" {'bulk COPY rows/s':>17} {'row COPY rows/s':>16} {'ratio':>6} {'vs row':>6}"
        f" {'ms/group (c / bulk / row)':>26}"
    )
    missed = []
    for g in result["commit"]:
        ms = (
            f"{g['commit_group_median_ms']:.1f} / {g['bulk_copy_median_ms']:.1f} / "
            f"{g['row_copy_median_ms']:.1f}"
        )
        print(
            f"{g['batches_per_group']:>13} {g['rows_per_group']:>10} {g['groups']:>6} "
            f"{g['commit_group_rows_per_s']:>20,} {g['bulk_copy_rows_per_s']:>17,} "
            f"{g['row_copy_rows_per_s']:>16,} {g['ratio']:>6.2f} "
            f"{g['ratio_to_row_copy']:>6.2f} {ms:>26}"
        )
        if g["ratio"] < 0.7:
            missed.append(f"commit_group at {g['ratio']:.2f} of bulk COPY, groups of "
                          f"{g['batches_per_group']} (goal >= 0.7)")  # fmt: skip
    print(
        "ratio: commit_group rows/s over bulk COPY rows/s (goal >= 0.7); vs row: over row "
        "COPY, the share left after the ledger and the checks\n"
    )

    x = result["load"]
    one_commit = f"{x['baseline_single_commit_ms']:.1f} ms (one 1-batch commit)"
    per_10min = f"{x['rss_growth_mb_per_10min_fit']:+.2f} MB (fit)"
    groups = f"{x['batches_per_group_mean']:.2f} mean, {x['batches_per_group_max']} max"
    rows = [
        ("sample-to-commit p50", f"{x['latency_p50_ms']:.1f} ms", one_commit, ""),
        ("sample-to-commit p99", f"{x['latency_p99_ms']:.1f} ms", one_commit, "<= 500 ms"),
        ("poll jitter p99 (last 60 s)", f"{x['jitter_p99_ms']:.2f} ms",
         f"{x['baseline_idle_jitter_p99_ms']:.2f} ms (no writer)", "<= 5 ms"),
        ("poll jitter p99, worst 60 s", f"{x['jitter_p99_worst_window_ms']:.2f} ms", "", ""),
        ("missed cycles", f"{x['missed_cycles']}",
         f"{x['baseline_idle_missed_cycles']} (no writer)", "0"),
        ("RSS growth", f"{x['rss_growth_mb']:+.2f} MB",
         f"{x['rss_start_mb']:.0f} MB after warm-up", ""),
        ("RSS growth per 10 min", per_10min,
         f"{x['rss_growth_mb_per_10min_endpoints']:+.2f} MB (end points)", "<= 20 MB"),
        ("CPU of this process", f"{x['cpu_percent_of_one_core']:.0f} % of a core", "", ""),
        ("batches per transaction", groups, f"{x['transactions']} transactions", ""),
        ("batches emitted / in run", f"{x['batches_emitted']} / {x['batches_in_run']}", "", ""),
        ("history rows / batches", f"{x['history_rows']} / {x['history_batches']}",
         f"{x['tags']} x {x['batches_emitted']}", "equal"),
        ("run rows", f"{x['run_rows']}", f"{x['tags']} x {x['batches_in_run']}", "equal"),
        ("spool left, dead letters", f"{x['spool_left']}, {x['dead_letters']}", "", "0, 0"),
        ("invariant violations", f"{len(x['invariant_violations'])}", "", "0"),
    ]  # fmt: skip
    print(
        f"sustained load: {x['tags']} tags every {x['interval_s']:g} s with a run active, "
        f"{x['duration_s']:g} s ({x['warmup_s']:g} s warm-up), {x['requests_per_poll']} "
        f"requests per poll, simulator in a {x['simulator']}"
    )
    print(f"{'figure':<30} {'measured':<24} {'baseline (same run)':<36} {'goal':<10}")
    for name, value, base, goal in rows:
        print(f"{name:<30} {value:<24} {base:<36} {goal:<10}")
    lossless = bool(x["lossless"]) and not x["invariant_violations"]
    goals = [
        (x["latency_p99_ms"] <= 500, f"sample-to-commit p99 {x['latency_p99_ms']:.0f} ms"),
        (x["jitter_p99_ms"] <= 5, f"poll jitter p99 {x['jitter_p99_ms']:.2f} ms"),
        (x["missed_cycles"] == 0, f"{x['missed_cycles']} missed cycles"),
        (x["rss_growth_mb_per_10min_fit"] <= 20,
         f"RSS {x['rss_growth_mb_per_10min_fit']:+.1f} MB per 10 min"),
    ]  # fmt: skip
    missed += [what for met, what in goals if not met]
    print(
        f"nothing lost: {'yes' if lossless else 'NO'}"
        f"{' (short run: figures prove only that it works)' if short else ''}"
    )
    for v in x["invariant_violations"]:
        print(f"  {v}")
    if not short:
        print(f"goals: {'all met' if not missed else 'NOT met: ' + '; '.join(missed)}")
    print(json.dumps({"benchmark": "writer", "short": short, "goals_missed": missed, **result}))
    return lossless, missed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="seconds of load before the figures count (10)"
    )
    parser.add_argument(
        "--baseline",
        type=float,
        default=10.0,
        help="seconds of polling without a writer, the jitter baseline (10)",
    )
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="polls per second (10)")
    parser.add_argument(
        "--groups", default="1,10,50", help="part 1 group sizes in batches (1,10,50)"
    )
    parser.add_argument(
        "--rows", type=int, default=400_000, help="part 1 rows per way and group size (400000)"
    )
    parser.add_argument("--simulator", choices=("process", "thread"), default="process")
    parser.add_argument("--short", action="store_true", help="a few seconds, to prove it runs")
    args = parser.parse_args()
    if args.duration <= 0 or args.tags < 1 or args.rate <= 0:
        parser.error("--duration, --tags and --rate must be positive")

    app = QCoreApplication.instance() or QCoreApplication([])  # Qt threads and signals need it
    signal.signal(signal.SIGTERM, _interrupt)
    stack = ExitStack()
    try:
        result = run(stack, args)
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
        return 130
    finally:
        # A second Ctrl+C must not cut the clean-up short and leave a server running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.close()
    lossless, missed = report(result, args.short)
    del app
    return 0 if lossless and (args.short or not missed) else 1


if __name__ == "__main__":
    sys.exit(main())
