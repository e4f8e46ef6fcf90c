"""A run recorded through a real engine polling the simulator into a real PostgreSQL:
what the export and report tests read back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from psycopg.conninfo import make_conninfo
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.commands import StartRun
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.engine.engine import Engine
from tests.acting import person
from tests.fixtures.pg import READER_LOGIN
from tests.recipe_run import fast, recipe
from tests.recording import Recording, deliver_pending_signals, settle

CYCLE = (Step.of(Pulse(valve="Valve 1", ms=10)), Step.of(Purge(ms=30)))


@dataclass(frozen=True)
class RecordedRun:
    run_id: uuid.UUID
    machine: str
    recipe: Recipe
    reader_dsn: str  # the reader role's login on the test's database
    batches: int


def warm_arrow_pools(directory: Path) -> None:
    """Start pyarrow's thread pools (one thread each) by reading a file back, so the
    threads it keeps for the rest of the process are there before a test begins: the
    leaked-thread guard would take them for the test's (writing starts none)."""
    pa.set_io_thread_count(1)
    pa.set_cpu_count(1)
    table = pa.table({"x": [1.0]})
    pq.write_table(table, directory / "warm.parquet")
    pa_csv.write_csv(table, directory / "warm.csv")
    pq.read_table(directory / "warm.parquet")
    pa_csv.read_csv(directory / "warm.csv")


def reader_of(dsn: str) -> str:
    """The test reader login (ald_reader) on the database of ``dsn`` (the embedded
    server trusts its Unix socket, so no password)."""
    return make_conninfo(dsn, user=READER_LOGIN)


def record_run(
    config: AppConfig,
    dsn: str,
    data_dir: Path,
    qtbot: QtBot,
    *,
    cycles: int = 20,
    during: Callable[[Engine], object] | None = None,
) -> RecordedRun:
    """A recipe of ``cycles`` pulse/purge cycles run to its end, every row committed;
    ``during(engine)`` is called once the run has started."""
    engine = Engine(fast(config), data_dir=data_dir, dsn=dsn)
    engine.act_as(person("tester"))
    ran = recipe(Loop(count=cycles, steps=CYCLE), name="export cycles")
    recording = Recording.of(engine)
    try:
        engine.open()
        settle(qtbot, lambda: recording.batches, 5.0, "the first batch")
        engine.submit(StartRun("tester", "for export", ran))
        if during is not None:
            settle(qtbot, lambda: recording.started, 10.0, "the run to start")
            during(engine)
        settle(qtbot, lambda: recording.ended, 20.0, "the recipe to end")
        run_id = recording.started[0].run.id
        in_run = lambda: sum(b.run_id == run_id for b in recording.batches)  # noqa: E731
        settle(qtbot, lambda: _committed_instants(dsn, run_id) == in_run(), 20.0,
               "the run's samples committed")  # fmt: skip
        batches = in_run()
    finally:
        engine.shutdown()
        deliver_pending_signals()
    return RecordedRun(run_id, engine.machine, ran, reader_of(dsn), batches)


def _committed_instants(dsn: str, run_id: uuid.UUID) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT sampled_at) FROM process_data_points WHERE run_id = %s",
            (run_id,),
        ).fetchone()
    assert row is not None
    return int(row[0])
