"""Reading history for plots: the reduced (M4) query against fetching the raw rows, and
what the trends' back-fill costs the GUI thread.

On the embedded server, a history of the reference reactor (every polled tag at 10 Hz,
8 hours: about 35 million rows) is written with binary COPY, as the writer's rows look
(time order, one ledger row per chunk). Then, in the same run and on the same rows:

- reduced: ``fetch_many`` of 16 curves over the whole span at 1600 px (the M4 points),
  as the reader role, repeated; p50 and p95. Read from the rollups (migrations 0013, 0015):
  the benchmark sums them up for the 16 curves after writing the rows, and makes their
  tables first where the schema has none yet; measured before that, the same query
  reduced from the rows (M4 over every row), for comparison;
- raw: every row of the same 16 curves over the same span (``fetch_raw``, binary COPY),
  the baseline; the ratio is raw over reduced (medians);
- the plan of the reduced query (EXPLAIN): which index serves it;
- back-fill: real trends offscreen, back-filled from that history as the operator pans
  and zooms (8 h, 1 h, 10 min windows at several places): the longest time one of the
  back-fill's own calls held the GUI thread (deciding to ask, taking an answer in), and
  the longest stall of the GUI thread's event loop meanwhile (drawing included), by the
  wall clock (the goal) and by the GUI thread's own CPU time (what a loaded machine's
  other processes add to the wall clock is not the GUI's doing).

Goals (full mode; exit 1 when one is missed): reduced p95 <= 300 ms, raw/reduced >= 10,
back-fill GUI-thread block <= 16 ms. ``--short`` writes 15 minutes of the 16 curves only, to
prove the benchmark works (CI); its figures mean nothing.

``--data-dir DIR`` keeps the embedded server's cluster in DIR (made if missing; it and
its parents must be reachable by the server's account under root) and, once the
history and its rollups are complete, ``DIR/history.json`` saying which span: a later
run with the same ``--hours`` reuses them (hours of writing saved) and measures the
same rows again; with another ``--hours`` it stops (exit 2), overwriting nothing.

    python benchmarks/history_query.py [--hours H] [--short] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ald_gui.config.load import load_config
from ald_gui.config.models import AppConfig
from ald_gui.domain.tags import DataType
from ald_gui.store import roles
from ald_gui.store.history import Series, column_us, fetch_many, fetch_raw
from ald_gui.store.history_buckets import bucket_query, served
from ald_gui.store.history_m4 import Reduction, plan_reduction, reduction_query
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.roles import Group
from ald_gui.store.server import EmbeddedServer

GOAL_P95_MS = 300.0
GOAL_RATIO = 10.0
GOAL_BLOCK_MS = 16.0
RATE_HZ = 10
CURVES = 16
WIDTH_PX = 1600
MACHINE = "bench"
_PG_EPOCH_US = 946_684_800_000_000
# One binary COPY row of parameter_value_history (parameter_id, sampled_at, value,
# transaction_id): field count, then each field's length and value.
_ROW = np.dtype([
    ("n", ">i2"), ("l1", ">i4"), ("p", ">i4"), ("l2", ">i4"), ("t", ">i8"),
    ("l3", ">i4"), ("v", ">f8"), ("l4", ">i4"), ("tx", "V16"),
])  # fmt: skip
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_CHUNK_S = 600  # seconds of history per COPY and ledger row


@contextmanager
def temporary_directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ald-bench-history-"))
    path.chmod(0o711)  # the server's account passes through (it runs as another under root)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def write_history(
    conn: psycopg.Connection[Any], ids: dict[str, int], start_us: int, seconds: int
) -> int:
    """``seconds`` of every tag in ``ids`` at RATE_HZ from ``start_us``, in time order;
    returns the rows written. Values: a slow wave per tag plus noise and steps."""
    keys = sorted(ids)
    pids = np.asarray([ids[k] for k in keys], dtype=np.int32)
    rng = np.random.default_rng(14)
    phase = rng.uniform(0, 2 * np.pi, len(keys))
    rows = 0
    for chunk in range(0, seconds, _CHUNK_S):
        n = min(_CHUNK_S, seconds - chunk) * RATE_HZ
        i = chunk * RATE_HZ + np.arange(n)
        t_us = start_us + i * (1_000_000 // RATE_HZ)
        wave = np.sin(i[:, None] / 3000.0 + phase[None, :]) * 10 + 50
        values = wave + rng.normal(0, 0.3, (n, len(keys))) + (i[:, None] // 6000 % 3)
        tx = uuid.uuid4()
        body = np.zeros(n * len(keys), dtype=_ROW)
        body["n"], body["l1"], body["l2"], body["l3"], body["l4"] = 4, 4, 8, 8, 16
        body["p"] = np.tile(pids, n)
        body["t"] = np.repeat(t_us - _PG_EPOCH_US, len(keys))
        body["v"] = values.ravel()
        body["tx"] = np.frombuffer(tx.bytes, dtype="V16")[0]
        with conn.transaction():
            conn.execute(
                "INSERT INTO write_transactions (transaction_id, machine, history_rows, "
                "run_rows, gap_rows, first_seq, last_seq) VALUES (%s, %s, %s, 0, 0, %s, %s)",
                (tx, MACHINE, len(body), int(i[0]) + 1, int(i[-1]) + 1),
            )
            with conn.cursor().copy(
                "COPY parameter_value_history (parameter_id, sampled_at, value, "
                "transaction_id) FROM STDIN (FORMAT binary)"
            ) as copy:
                copy.write(_COPY_HEADER + body.tobytes() + b"\xff\xff")
        rows += len(body)
        print(f"  {rows:,} rows", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)
    return rows


@contextmanager
def indexes_built_after(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Load into the bare table, then build its indexes (the same definitions), which is
    several times faster than keeping them up to date row by row."""
    kind = conn.execute(
        "SELECT relkind FROM pg_class WHERE oid = 'parameter_value_history'::regclass"
    ).fetchone()
    if kind is None or kind[0] == "p":  # partitioned: indexes are per partition, keep them
        yield
        return
    defs = [r[0] for r in conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'parameter_value_history'"
    ).fetchall()]  # fmt: skip
    names = [r[0] for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'parameter_value_history'"
    ).fetchall()]  # fmt: skip
    for name in names:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    for definition in defs:
        conn.execute(definition)


# The rollups of migrations 0013 and 0015, where the schema does not have them yet: the
# same columns, a plain table (what store.history_m4 reads).
ROLLUPS = {
    "history_rollup_1s": timedelta(seconds=1),
    "history_rollup_10s": timedelta(seconds=10),
    "history_rollup_1m": timedelta(minutes=1),
}
_ROLLUP_TABLE = """
CREATE TABLE {} (
    parameter_id integer NOT NULL, bucket timestamptz NOT NULL, count integer NOT NULL,
    min double precision NOT NULL, max double precision NOT NULL,
    sum double precision NOT NULL, first_at timestamptz NOT NULL,
    first_value double precision NOT NULL, last_at timestamptz NOT NULL,
    last_value double precision NOT NULL, PRIMARY KEY (parameter_id, bucket))
"""
_ROLLUP_FILL = """
INSERT INTO history_rollup_1s
SELECT parameter_id, date_trunc('second', sampled_at, 'UTC'), count(*), min(value),
       max(value), sum(value), min(sampled_at), (array_agg(value ORDER BY sampled_at))[1],
       max(sampled_at), (array_agg(value ORDER BY sampled_at DESC))[1]
FROM parameter_value_history WHERE parameter_id = ANY(%(ids)s) GROUP BY 1, 2
"""
# The coarser ones from the seconds, as migration 0015 back-fills (each second lies in
# one bucket of each): a tenth of the rows to go through.
_ROLLUP_COARSER = """
INSERT INTO {table}
SELECT parameter_id, date_bin(%(width)s, bucket, '1970-01-01 00:00Z'), sum(count), min(min),
       max(max), sum(sum), min(first_at), (array_agg(first_value ORDER BY first_at))[1],
       max(last_at), (array_agg(last_value ORDER BY last_at DESC))[1]
FROM history_rollup_1s WHERE parameter_id = ANY(%(ids)s) GROUP BY 1, 2
"""


def fill_rollups(conn: psycopg.Connection[Any], ids: list[int]) -> str:
    """The rollups of the measured curves, from the rows written (the writer keeps them
    as it commits; here they are summed up once, afterwards); made first where the
    schema has none. Says which."""
    made = "filled"
    for table, width in ROLLUPS.items():
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,):
            conn.execute(sql.SQL(_ROLLUP_TABLE).format(sql.Identifier(table)))
            conn.execute(sql.SQL("GRANT SELECT ON {} TO ald_reader").format(sql.Identifier(table)))
            made = "made by the benchmark (not in the schema yet) and filled"
        fill = _ROLLUP_FILL if width == timedelta(seconds=1) else _ROLLUP_COARSER
        query = sql.SQL(fill).format(table=sql.Identifier(table))
        conn.execute(query, {"width": width, "ids": ids})
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    return made


def bench_keys(config: AppConfig) -> list[str]:
    """16 numeric polled tags the trends draw (readings and setpoints), in map order."""
    from ald_gui.ui.trends_curves import plan_curves

    trended = [c.tag for g in plan_curves(config.tags) for c in g.curves]
    numbers = [t.key for t in trended if t.data_type is not DataType.BOOL]
    return numbers[:CURVES]


def timed(fn: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        begun = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - begun) * 1000)
    return times, result


def plan_of(conn: psycopg.Connection[Any], reduction: Reduction, pid: int) -> str:
    """The scans under the query ``fetch_many`` runs for ``reduction`` on one curve
    (the buckets merged in the client, or the statement grouping them), from EXPLAIN."""
    query, args = (bucket_query if served(reduction) else reduction_query)(reduction, pid)
    lines = [r[0] for r in conn.execute(sql.SQL("EXPLAIN ") + query, args).fetchall()]
    scans = [ln.strip().removeprefix("->").strip() for ln in lines if "Scan" in ln]
    return f"{reduction.table}: " + "; ".join(dict.fromkeys(s.split("  (")[0] for s in scans))


def backfill_block(
    reader_dsn: str, config: AppConfig, keys: list[str], end_us: int, hours: float
) -> tuple[dict[str, float], int, str]:
    """Real trends offscreen, back-filled while the view moves: the longest back-fill
    calls on the GUI thread (deciding, per tick; taking an answer in; handing some of its
    curves to the plots) and the longest event-loop
    stall meanwhile (drawing included), in ms of the wall clock and of the GUI thread's
    own CPU time (which the machine's other load does not inflate); the answers taken
    in, the last error. The window's first paint is left out: it is not the back-fill's."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from ald_gui.engine.history_queries import HistoryQueries
    from ald_gui.ui.trends import TrendView
    from ald_gui.ui.trends_history import BackFill

    held: dict[str, list[tuple[float, float]]] = {"check": [], "_answered": [], "_draw_some": []}
    for name, calls in held.items():  # timed on the class, before any instance binds
        original = getattr(BackFill, name)

        def timed_call(
            self: BackFill,
            *args: Any,
            _original: Callable[..., Any] = original,
            _calls: list[tuple[float, float]] = calls,
        ) -> Any:
            begun, cpu = time.perf_counter(), time.thread_time()
            try:
                return _original(self, *args)
            finally:
                _calls.append(
                    ((time.perf_counter() - begun) * 1000, (time.thread_time() - cpu) * 1000)
                )

        setattr(BackFill, name, timed_call)
    app = QApplication.instance() or QApplication([])
    queries = HistoryQueries(lambda: reader_dsn)
    view = TrendView(config.tags, poll_interval_s=1.0 / RATE_HZ)
    view.resize(WIDTH_PX + 200, 900)
    view.attach_history(queries, MACHINE)
    view.restore({"visible": keys})  # the measured curves, and only them
    backfill = view.backfill
    assert backfill is not None
    # Between 2 ms ticks: wall, GUI-thread CPU, and whether curves were handed over.
    stalls: list[tuple[float, float, bool]] = []
    last = [0.0, 0.0, 0]

    def tick() -> None:
        now, cpu, draws = time.perf_counter(), time.thread_time(), len(held["_draw_some"])
        stalls.append(((now - last[0]) * 1000, (cpu - last[1]) * 1000, draws != last[2]))
        last[:] = [now, cpu, draws]

    ticker = QTimer()
    ticker.setInterval(2)
    ticker.timeout.connect(tick)
    view.show()
    view.pause()
    for _ in range(3):
        app.processEvents()  # the first layout and paint
    end_s, span_s = end_us / 1e6, hours * 3600
    windows = [(end_s - w * k, w) for w in (span_s, 3600.0, 600.0) for k in (0.0, 0.5, 2.0)]
    windows = [(hi, w) for hi, w in windows if hi - w >= end_s - span_s]
    answered = 0
    loop = QEventLoop()
    state = {"asked": False, "moved_at": 0.0}

    def watch() -> None:
        state["asked"] = state["asked"] or backfill.loading
        if (state["asked"] and not backfill.loading) or backfill.last_error:
            loop.quit()
        # A window the ring (or what was fetched) already covers asks nothing: once the
        # view has rested well past the back-fill's delay, go on.
        if not state["asked"] and time.perf_counter() - state["moved_at"] > 2.0:
            loop.quit()

    watcher = QTimer()
    watcher.setInterval(5)
    watcher.timeout.connect(watch)
    give_up = QTimer()
    give_up.setSingleShot(True)
    give_up.timeout.connect(loop.quit)
    last[:] = [time.perf_counter(), time.thread_time(), 0]
    ticker.start()
    watcher.start()
    try:
        for hi, w in windows:
            state["asked"] = False
            view.stack.set_x_range(hi - w, hi)
            backfill.moved()
            state["moved_at"] = time.perf_counter()
            give_up.start(120_000)
            loop.exec()
            if backfill.last_error:
                break
            answered += int(state["asked"] and not backfill.loading)
    finally:
        for timer in (ticker, watcher, give_up):
            timer.stop()
        view.close()
        queries.close()
        app.processEvents()

    def most(calls: list[tuple[float, float]] | list[tuple[float, float, bool]], i: int) -> float:
        return max((c[i] for c in calls), default=0.0)

    drawing = [s for s in stalls if s[2]]

    figures = {
        "backfill_check_max_ms": most(held["check"], 0),
        "backfill_answer_max_ms": most(held["_answered"], 0),
        "backfill_draw_max_ms": most(held["_draw_some"], 0),
        "event_loop_stall_max_ms": most(stalls, 0),
        "backfill_check_max_cpu_ms": most(held["check"], 1),
        "backfill_answer_max_cpu_ms": most(held["_answered"], 1),
        "backfill_draw_max_cpu_ms": most(held["_draw_some"], 1),
        "event_loop_busiest_cpu_ms": most(stalls, 1),
        # The turns that handed curves over: the hand-over and the paint after it.
        "event_loop_busiest_cpu_drawing_ms": most(drawing, 1),
        "backfill_frames": len(held["check"]),
        "backfill_draws": len(held["_draw_some"]),
    }
    return figures, answered, backfill.last_error


@dataclass(frozen=True)
class History:
    """The history measured: its span, the parameter ids of its tags, how it was made."""

    start_us: int
    end_us: int
    ids: dict[str, int]
    rows: int
    load_s: float
    rollups: str


_KEPT = "history.json"  # in --data-dir: the history a run wrote there, once complete


def kept_history(data_dir: Path, seconds: int) -> dict[str, Any] | None:
    """What an earlier run left complete in ``data_dir`` (None: nothing, or a write it
    did not finish). Exits 2, naming both spans, when it holds another span than asked:
    it is not written over."""
    marker = data_dir / _KEPT
    if not marker.exists():
        return None
    kept: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
    if kept["seconds"] != seconds:
        print(
            f"--data-dir {data_dir} holds {kept['seconds'] / 3600:g} h of history from an "
            f"earlier run, not the {seconds / 3600:g} h asked: run with the same span "
            "(--hours, or --short for 15 minutes), or give another --data-dir",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return kept


def prepare_history(
    server: EmbeddedServer, data_dir: Path | None, config: AppConfig, keys: list[str],
    seconds: int, short: bool,
) -> History:  # fmt: skip
    """The history to measure, with its rollups: the one kept in ``data_dir`` by an
    earlier run of the same span, else written now (and, with ``data_dir``, kept)."""
    kept = kept_history(data_dir, seconds) if data_dir else None
    owner_dsn = make_conninfo(server.dsn, dbname="bench_history")
    # Short: the measured curves only; full: every polled tag, as recorded.
    tags = [t for t in config.polled_tags if not short or t.key in keys]
    if kept is not None:
        print(f"history kept in {data_dir}: {kept['rows']:,} rows", file=sys.stderr)
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            roles.initialise(conn)  # the code's schema, should the earlier run's be older
            ids = sync_parameters(conn, MACHINE, tags)
        return History(kept["start_us"], kept["end_us"], ids, kept["rows"], kept["load_s"],
                       "filled by an earlier run (kept in --data-dir)")  # fmt: skip
    end_us = (int(time.time()) // 60) * 60 * 1_000_000
    start_us = end_us - seconds * 1_000_000
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench_history")  # a write left unfinished
        admin.execute("CREATE DATABASE bench_history")
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        roles.initialise(conn)
        ids = sync_parameters(conn, MACHINE, tags)
        print(f"writing {seconds} s of {len(ids)} tags at {RATE_HZ} Hz ...", file=sys.stderr)
        begun = time.perf_counter()
        with indexes_built_after(conn):
            rows = write_history(conn, ids, start_us, seconds)
        conn.execute("VACUUM ANALYZE")
        load_s = time.perf_counter() - begun
        print("rollups ...", file=sys.stderr)
        rollups = fill_rollups(conn, [ids[k] for k in keys])
    if data_dir:
        kept = {"seconds": seconds, "start_us": start_us, "end_us": end_us, "rows": rows,
                "load_s": round(load_s, 1)}  # fmt: skip
        (data_dir / _KEPT).write_text(json.dumps(kept), encoding="utf-8")
    return History(start_us, end_us, ids, rows, load_s, rollups)


def from_rows(conn: psycopg.Connection[Any], pids: list[int], start_us: int, end_us: int) -> int:
    """The M4 reduction of each curve over every raw row (no rollup), as the reduced
    query was before there were rollups: the bytes answered."""
    reduction = Reduction(
        "parameter_value_history", 0, start_us, column_us(start_us, end_us, WIDTH_PX), end_us
    )
    answered = 0
    for pid in pids:
        with conn.cursor(binary=True) as cur:
            row = cur.execute(*reduction_query(reduction, pid)).fetchone()
        answered += len(row[0] or b"") if row else 0
    return answered


def run(args: argparse.Namespace) -> dict[str, Any]:
    short = args.short
    seconds = 900 if short else int(args.hours * 3600)
    repeat_reduced, repeat_raw = (3, 1) if short else (args.repeat, 3)
    config = load_config()
    keys = bench_keys(config)
    with ExitStack() as stack:
        data_dir: Path | None = args.data_dir
        if data_dir is None:
            workdir = stack.enter_context(temporary_directory())
        else:
            workdir = data_dir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
            workdir.chmod(0o711)  # the server's account passes through (as in a temporary one)
        server = stack.enter_context(EmbeddedServer(workdir / "postgres"))
        kept_in = None if data_dir is None else workdir
        history = prepare_history(server, kept_in, config, keys, seconds, short)
        start_us, end_us, ids = history.start_us, history.end_us, history.ids
        pids = [ids[k] for k in keys]
        owner_dsn = make_conninfo(server.dsn, dbname="bench_history")
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            rows_reduction = Reduction(
                "parameter_value_history", 0, start_us,
                column_us(start_us, end_us, WIDTH_PX), end_us,
            )  # fmt: skip
            plan_rows = plan_of(conn, rows_reduction, pids[0])
            plan = plan_of(conn, plan_reduction(conn, start_us, end_us, WIDTH_PX), pids[0])
        reader_dsn = make_conninfo(server.login_dsn(Group.READER), dbname="bench_history")

        def reduced() -> dict[str, Series]:
            return fetch_many(reader, MACHINE, keys, start_us, end_us, WIDTH_PX)

        print("reduced from the rows, and raw ...", file=sys.stderr)
        with psycopg.connect(reader_dsn, autocommit=True) as reader:
            from_rows_ms, _ = timed(lambda: from_rows(reader, pids, start_us, end_us), repeat_raw)
            raw_ms, raw = timed(
                lambda: [fetch_raw(reader, MACHINE, k, start_us, end_us) for k in keys],
                repeat_raw,
            )
        print("reduced ...", file=sys.stderr)
        with psycopg.connect(reader_dsn, autocommit=True) as reader:
            reduced()  # the first reads the rollup's pages from disk
            reduced_ms, answer = timed(reduced, repeat_reduced)
        assert isinstance(answer, dict) and isinstance(raw, list)
        print("back-fill of the trends ...", file=sys.stderr)
        gui, answered, error = backfill_block(reader_dsn, config, keys, end_us, seconds / 3600)
    rows, load_s, rollups = history.rows, history.load_s, history.rollups
    return {
        "hours": seconds / 3600,
        "tags": len(ids),
        "rows": rows,
        "load_s": round(load_s, 1),
        "rollups": rollups,
        "data_dir": str(args.data_dir or ""),
        "curves": len(keys),
        "width_px": WIDTH_PX,
        "reduced_points": sum(len(s) for s in answer.values()),
        "reduced": all(s.reduced for s in answer.values()),
        "reduced_from": sorted({s.columns.table for s in answer.values() if s.columns}),
        "reduced_p50_ms": round(statistics.median(reduced_ms), 1),
        "reduced_p95_ms": round(_p(reduced_ms, 0.95), 1),
        "reduced_runs": len(reduced_ms),
        "raw_rows": sum(len(s) for s in raw),
        "raw_median_ms": round(statistics.median(raw_ms), 1),
        "raw_runs": len(raw_ms),
        "ratio": round(statistics.median(raw_ms) / statistics.median(reduced_ms), 1),
        "reduced_from_rows_median_ms": round(statistics.median(from_rows_ms), 1),
        "plan": plan,
        "plan_from_rows": plan_rows,
        "backfill_block_max_ms": round(
            max(
                gui["backfill_check_max_ms"],
                gui["backfill_answer_max_ms"],
                gui["backfill_draw_max_ms"],
            ),
            2,
        ),
        **{k: round(v, 2) for k, v in gui.items()},
        "backfill_answers": answered,
        "backfill_error": error,
    }


def report(x: dict[str, Any], short: bool) -> list[str]:
    print(
        f"history: {x['hours']:g} h of {x['tags']} tags at {RATE_HZ} Hz, {x['rows']:,} rows "
        f"(written in {x['load_s']:g} s); rollups of the measured curves {x['rollups']}"
    )
    rows = [
        (f"reduced, {x['curves']} curves @ {x['width_px']} px, p50",
         f"{x['reduced_p50_ms']:.0f} ms", f"{x['reduced_points']:,} points", ""),
        ("reduced p95", f"{x['reduced_p95_ms']:.0f} ms", f"{x['reduced_runs']} runs",
         f"<= {GOAL_P95_MS:.0f} ms"),
        ("reduced from the rows (median)", f"{x['reduced_from_rows_median_ms']:.0f} ms",
         "no rollup: M4 of every row", ""),
        ("raw rows, same curves (median)", f"{x['raw_median_ms']:.0f} ms",
         f"{x['raw_rows']:,} rows", ""),
        ("raw / reduced", f"{x['ratio']:.1f} x", "medians, same run", f">= {GOAL_RATIO:.0f} x"),
        ("back-fill GUI-thread block", f"{x['backfill_block_max_ms']:.2f} ms",
         f"{x['backfill_answers']} answers taken in", f"<= {GOAL_BLOCK_MS:.0f} ms"),
        ("  deciding / taking in / drawing", f"{x['backfill_check_max_ms']:.2f} / "
         f"{x['backfill_answer_max_ms']:.2f} / {x['backfill_draw_max_ms']:.2f} ms",
         f"{x['backfill_frames']} ticks, {x['backfill_draws']} draws", ""),
        ("event-loop stall (drawing too)", f"{x['event_loop_stall_max_ms']:.0f} ms", "", ""),
        ("  the same in GUI-thread CPU", f"{x['backfill_check_max_cpu_ms']:.2f} / "
         f"{x['backfill_answer_max_cpu_ms']:.2f} / {x['backfill_draw_max_cpu_ms']:.2f} ms",
         f"busiest turn {x['event_loop_busiest_cpu_ms']:.1f} ms", ""),
        ("  busiest turn handing curves over", f"{x['event_loop_busiest_cpu_drawing_ms']:.1f} ms",
         "GUI-thread CPU, paint too", ""),
    ]  # fmt: skip
    print(f"{'figure':<38} {'measured':<12} {'context':<26} {'goal':<10}")
    for name, value, context, goal in rows:
        print(f"{name:<38} {value:<12} {context:<26} {goal:<10}")
    print(f"plan of the reduced query: {x['plan']}")
    print(f"plan from the rows: {x['plan_from_rows']}")
    goals = [
        (x["reduced_p95_ms"] <= GOAL_P95_MS, f"reduced p95 {x['reduced_p95_ms']:.0f} ms"),
        (x["ratio"] >= GOAL_RATIO, f"raw/reduced {x['ratio']:.1f} x"),
        (x["backfill_block_max_ms"] <= GOAL_BLOCK_MS,
         f"back-fill block {x['backfill_block_max_ms']:.1f} ms"),
    ]  # fmt: skip
    missed = [what for met, what in goals if not met]
    if short:
        print("(short run: figures prove only that it works)")
    else:
        print(f"goals: {'all met' if not missed else 'NOT met: ' + '; '.join(missed)}")
    print(json.dumps({"benchmark": "history_query", "short": short, "goals_missed": missed, **x}))
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=8.0, help="hours of history (8)")
    parser.add_argument("--repeat", type=int, default=20, help="runs of the reduced query (20)")
    parser.add_argument(
        "--short", action="store_true", help="15 minutes of history, to prove it runs"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the history (the server's cluster) in DIR, and reuse what an earlier run "
        "with the same --hours left there instead of writing it again",
    )
    args = parser.parse_args()
    result = run(args)
    missed = report(result, args.short)
    works = result["reduced"] and result["backfill_answers"] > 0 and not result["backfill_error"]
    return 0 if works and (args.short or not missed) else 1


if __name__ == "__main__":
    sys.exit(main())
