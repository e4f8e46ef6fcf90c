"""Many run starts and stops in quick succession while polling at 50 Hz.

Every sample must belong to exactly the run whose interval [started_at, ended_at)
contains it, in what the engine emitted and in what PostgreSQL holds; checked by the
historian's own invariant queries and, independently, here.
"""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.commands import StartRun, StopRun
from ald_gui.domain.stream import Batch
from ald_gui.engine.engine import Engine
from tests.acting import TESTER
from tests.recording import (
    Audit,
    Recording,
    assert_recorded_whole,
    committed_instants,
    deliver_pending_signals,
    settle,
    spool_contents,
)

RUNS = 100  # through the engine's API: 200 transitions
BACK_TO_BACK = 20  # start and stop handed to the poll thread together: empty runs


@pytest.fixture
def engine(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    config = sim_config.model_copy(update={"poll": PollSettings(interval_s=0.02)})
    e = Engine(config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    e.act_as(TESTER)
    yield e
    e.shutdown()


def _run_at(
    starts: list[int], intervals: list[tuple[int, int, uuid.UUID]], t: int
) -> uuid.UUID | None:
    """The run whose [started, ended) holds ``t``, from intervals sorted by start."""
    i = bisect.bisect_right(starts, t) - 1
    if i < 0:
        return None
    started, ended, run_id = intervals[i]
    return run_id if started <= t < ended else None


def test_hundreds_of_transitions_at_50_hz_attribute_every_sample_to_its_run(
    engine: Engine, migrated_pg_dsn: str, qtbot: QtBot, tmp_path: Path
) -> None:
    recording = Recording.of(engine)
    engine.open()
    rng = random.Random(20240611)  # the same mix of run lengths every time

    def wait_end(ended: int, what: str) -> None:
        settle(qtbot, lambda: len(recording.ended) > ended, 5.0, what)

    def wait_batches(n: int) -> None:
        seen = len(recording.batches)
        settle(qtbot, lambda: recording.batches_after(seen) >= n, 5.0, f"{n} batches")

    settle(qtbot, lambda: recording.batches, 5.0, "the first batch")
    for i in range(RUNS):
        ended = len(recording.ended)
        engine.start_run(f"op{i}")
        settle(qtbot, lambda: engine.run is not None, 5.0, f"run {i} to start")
        wait_batches(rng.choice((0, 0, 1, 1, 2, 3)))  # 0: stopped before its first sample
        engine.stop_run(f"end {i}")
        wait_end(ended, f"run {i} to end")
        wait_batches(rng.choice((0, 1)))

    # Start and stop applied by the poll thread in one go: a run of one microsecond.
    assert engine.poller is not None
    for i in range(BACK_TO_BACK):
        ended = len(recording.ended)
        engine.poller.submit(StartRun(f"quick{i}"))
        engine.poller.submit(StopRun(f"quick end {i}"))
        wait_end(ended, f"quick run {i} to end")
        wait_batches(rng.choice((0, 1)))
    wait_batches(3)

    wanted = {b.sampled_at_us for b in recording.batches}
    settle(qtbot, lambda: wanted <= committed_instants(migrated_pg_dsn), 20.0, "the spool to drain")
    assert engine.shutdown()
    deliver_pending_signals()
    assert spool_contents(tmp_path / "data") == (0, [])
    audit = Audit.read(migrated_pg_dsn, engine.machine)

    # The historian's invariant queries (1-4) and the exact-once comparison.
    assert_recorded_whole(recording, audit)

    # Independently: rebuild each sample's run from the run intervals and compare.
    assert len(recording.started) == len(recording.ended) == RUNS + BACK_TO_BACK
    intervals = sorted(
        (r.started_at_us, r.ended_at_us, r.id)
        for r in audit.runs.values()
        if r.ended_at_us is not None
    )
    assert len(intervals) == RUNS + BACK_TO_BACK
    starts = [s for s, _, _ in intervals]
    for (_, end, _), (next_start, _, _) in itertools.pairwise(intervals):
        assert end <= next_start, "two runs overlap"
    for b in recording.batches:  # as emitted
        assert b.run_id == _run_at(starts, intervals, b.sampled_at_us), b
    runs_by_instant: dict[int, set[uuid.UUID]] = {}
    for run_id, at in audit.run_rows_per_sample:
        runs_by_instant.setdefault(at, set()).add(run_id)
    for at in audit.history_per_instant:  # as stored: its run rows, in its run only
        holder = _run_at(starts, intervals, at)
        assert runs_by_instant.get(at, set()) == ({holder} if holder else set()), at
    for (run_id, at), rows in audit.run_rows_per_sample.items():
        started, ended, _ = next(x for x in intervals if x[2] == run_id)
        assert started <= at < ended and rows == audit.history_per_instant[at]

    in_runs: list[Batch] = [b for b in recording.batches if b.run_id is not None]
    empty_runs = len(audit.runs) - len({b.run_id for b in in_runs})
    print(
        f"runs {len(audit.runs)} ({2 * len(audit.runs)} transitions, {empty_runs} without a "
        f"sample), batches {len(recording.batches)} ({len(in_runs)} in runs), history rows "
        f"{audit.history_rows}, run rows {audit.run_rows}, groups {len(audit.ledger)}"
    )
