"""The run history read back from real runs (an engine, the simulator, PostgreSQL): the
list with its figures, its filters and pages, one run's record, cycle starts from its
steps, ``ald-gui runs list|show``, and the golden run of a recipe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

# At collection, not in a test: the command line imports pyarrow (export), whose
# allocator starts a thread of its own for the process.
from ald_gui.cli import main
from ald_gui.config.models import AppConfig
from ald_gui.domain.run_alignment import AlignBy, Alignment, NoAnchor, anchor_us, cycle_starts
from ald_gui.domain.stream import RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from ald_gui.store.golden_runs import GoldenRefused, golden_run, mark_golden, markings
from ald_gui.store.run_history import (
    RunFilter,
    RunNotFound,
    choices,
    count_runs,
    find_run_id,
    list_runs,
    run_record,
)
from tests.acting import TESTER
from tests.fixtures.pg import scalar
from tests.recipe_run import fast
from tests.recorded_runs import CYCLES, STEPS_OF_THREE, RecordedRuns, record_runs


@pytest.fixture
def engine(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    e = Engine(fast(sim_config), data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    e.act_as(TESTER)
    yield e
    e.shutdown()


@pytest.fixture
def runs(engine: Engine, simulator: Simulator, migrated_pg_dsn: str, qtbot: QtBot) -> RecordedRuns:
    return record_runs(engine, simulator, migrated_pg_dsn, qtbot)


def test_the_list_shows_every_run_with_its_figures_and_filters_narrow_it(
    runs: RecordedRuns, engine: Engine, migrated_pg_dsn: str
) -> None:
    machine = engine.machine
    with psycopg.connect(migrated_pg_dsn) as conn:
        listed = list_runs(conn, RunFilter())
        assert [r.id for r in listed] == [runs.aborted, runs.second, runs.first, runs.plain]
        by_id = {r.id: r for r in listed}
        plain = by_id[runs.plain]
        assert (plain.machine, plain.operator, plain.note, plain.recipe) == (
            machine, "bob", "first wafer", "",
        )  # fmt: skip
        assert (plain.status, plain.reason) == (RunStatus.COMPLETED, "chamber vented early")
        gaps = scalar(migrated_pg_dsn, "SELECT count(*) FROM plc_gaps WHERE run_id = %s", plain.id)
        assert plain.gaps == gaps > 0
        ended = {e.run_id: e.ended_at_us for e in runs.recording.ended}
        started = {s.run.id: s.run.started_at_us for s in runs.recording.started}
        for r in listed:
            assert (r.started_us, r.ended_us) == (started[r.id], ended[r.id])
            assert r.duration_s == pytest.approx((ended[r.id] - started[r.id]) / 1e6)
        first = by_id[runs.first]
        assert (first.recipe, first.recipe_version, first.operator, first.gaps) == (
            "three cycles", 1, "ana", 0,
        )  # fmt: skip
        aborted = by_id[runs.aborted]
        assert (aborted.status, aborted.reason, aborted.recipe) == (
            RunStatus.ABORTED, "stopped by hand", "long pulse",
        )  # fmt: skip
        for r in listed:
            raised = "SELECT count(*) FROM alarm_events WHERE run_id = %s AND event = 'raised'"
            assert r.alarms == scalar(migrated_pg_dsn, raised, r.id)
            assert r.refusals == 0

        def ids(f: RunFilter) -> list[object]:
            return [r.id for r in list_runs(conn, f)]

        assert ids(RunFilter(recipe="three cycles")) == [runs.second, runs.first]
        assert ids(RunFilter(status=RunStatus.ABORTED)) == [runs.aborted]
        assert ids(RunFilter(operator="bob")) == [runs.plain]
        assert ids(RunFilter(text="VENTED")) == [runs.plain]  # the reason, any case
        assert ids(RunFilter(text="second")) == [runs.second]  # the note
        assert ids(RunFilter(text="100%")) == []  # % is a character, not a wildcard
        assert ids(RunFilter(machine="another machine")) == []
        assert ids(RunFilter(machine=machine, since_us=started[runs.second])) == [
            runs.aborted, runs.second,
        ]  # fmt: skip
        assert ids(RunFilter(until_us=started[runs.first])) == [runs.plain]
        # Pages: two at a time, newest first, and the count of all pages.
        assert ids(RunFilter(limit=2)) == [runs.aborted, runs.second]
        assert ids(RunFilter(limit=2).page(2)) == [runs.first, runs.plain]
        assert count_runs(conn, RunFilter(limit=2)) == 4
        assert count_runs(conn, RunFilter(recipe="three cycles")) == 2
        assert choices(conn).recipes == ("long pulse", "three cycles")
        assert choices(conn).operators == ("ana", "bob")
        assert choices(conn).machines == (machine,)


def test_a_runs_record_holds_its_recipe_steps_and_cycle_starts(
    runs: RecordedRuns, migrated_pg_dsn: str
) -> None:
    with psycopg.connect(migrated_pg_dsn) as conn:
        record = run_record(conn, runs.first)
        assert find_run_id(conn, str(runs.first)[:8]) == runs.first
        with pytest.raises(RunNotFound, match="no run's id starts so"):
            find_run_id(conn, "ffffffff")
        with pytest.raises(RunNotFound, match="at least its first 4 characters"):
            find_run_id(conn, "ab")
        plain = run_record(conn, runs.plain)
    assert json.loads(record.recipe_snapshot)["name"] == "three cycles"
    assert len(record.recipe_sha256) == 64
    assert plain.recipe_snapshot == "" and plain.steps == ()
    assert len(record.steps) == STEPS_OF_THREE
    assert [s.started_at_us for s in record.steps] == sorted(s.started_at_us for s in record.steps)
    pulses = [s for s in record.steps if s.kind == "pulse"]
    starts = cycle_starts(record.steps)
    # Each cycle starts with its pulse, and cycle N's is the N-th pulse's start.
    assert starts == {n + 1: p.started_at_us for n, p in enumerate(pulses)}
    assert list(starts) == list(range(1, CYCLES + 1))
    assert anchor_us(0, record.steps, Alignment(AlignBy.CYCLE, cycle=2)) == pulses[1].started_at_us
    purge = Alignment(AlignBy.STEP, step="steps[0].loop.steps[1]", occurrence=3)
    purges = [s for s in record.steps if s.kind == "purge"]
    assert anchor_us(0, record.steps, purge) == purges[2].started_at_us
    with pytest.raises(NoAnchor, match=r"no cycle 4 \(it ran cycles 1 to 3\)"):
        anchor_us(0, record.steps, Alignment(AlignBy.CYCLE, cycle=4))
    with pytest.raises(NoAnchor, match="no cycle 1 \\(it ran no loop\\)"):
        anchor_us(0, plain.steps, Alignment(AlignBy.CYCLE, cycle=1))


def test_runs_list_and_show_in_the_terminal(
    runs: RecordedRuns, engine: Engine, migrated_pg_dsn: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    config = tmp_path / "external.toml"
    config.write_text(f'[database]\ndsn = "{migrated_pg_dsn}"\nmachine = "{engine.machine}"\n')
    assert main(["runs", "list", "--config", str(config), "--recipe", "three cycles"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["run", "machine", "started", "duration"]
    assert [line.split()[0] for line in out[1:-1]] == [str(runs.second)[:8], str(runs.first)[:8]]
    assert "three cycles v1" in out[1] and out[-1] == "runs 1-2 of 2"

    assert main(["runs", "list", "--config", str(config), "--json", "--search", "wafer"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["total"] == 1 and listed["runs"][0]["gaps"] > 0
    assert listed["runs"][0]["reason"] == "chamber vented early"

    assert main(["runs", "show", "--config", str(config), str(runs.first)[:8]]) == 0
    shown = capsys.readouterr().out
    assert f"run {runs.first}" in shown and "steps (7):" in shown
    assert shown.count("steps[0].loop.steps[0] pulse cycle") == CYCLES

    assert main(["runs", "show", "--config", str(config), "0000"]) == 1
    assert "no run's id starts so" in capsys.readouterr().out
    assert main(["runs", "list", "--config", str(config), "--since", "yesterday"]) == 2
    assert "--since 'yesterday'" in capsys.readouterr().out


def test_a_golden_run_is_marked_per_recipe_the_latest_marking_winning(
    runs: RecordedRuns, engine: Engine, migrated_pg_dsn: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    machine = engine.machine
    with psycopg.connect(migrated_pg_dsn) as conn:
        assert golden_run(conn, machine, "three cycles") is None
        mark_golden(conn, runs.first, "carla", note="the reference")
        assert golden_run(conn, machine, "three cycles") == runs.first
        mark_golden(conn, runs.second, "dan")
        assert golden_run(conn, machine, "three cycles") == runs.second  # the latest wins
        with pytest.raises(GoldenRefused, match="is not the golden run of 'three cycles'"):
            mark_golden(conn, runs.first, "dan", unmark=True)
        with pytest.raises(GoldenRefused, match="ended aborted, not completed"):
            mark_golden(conn, runs.aborted, "dan")
        with pytest.raises(GoldenRefused, match="ran no recipe"):
            mark_golden(conn, runs.plain, "dan")
        mark_golden(conn, runs.second, "dan", unmark=True)
        assert golden_run(conn, machine, "three cycles") is None
        history = markings(conn, machine, "three cycles")
        assert [(m.run_id, m.marked_by) for m in history] == [
            (runs.first, "carla"), (runs.second, "dan"), (None, "dan"),
        ]  # fmt: skip
        assert history[0].note == "the reference"
        # The database holds to it whoever writes: an aborted run is refused, a marking
        # is never changed.
        with pytest.raises(psycopg.errors.CheckViolation, match="only a completed run"):
            conn.execute(
                "INSERT INTO golden_runs (machine, recipe_name, run_id, marked_by) "
                "VALUES (%s, 'long pulse', %s, 'eve')",
                (machine, runs.aborted),
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM golden_runs")
        conn.rollback()

    config = tmp_path / "external.toml"
    config.write_text(f'[database]\ndsn = "{migrated_pg_dsn}"\nmachine = "{machine}"\n')
    assert main(["runs", "golden", "--config", str(config), "--run", str(runs.first)[:8]]) == 0
    assert "is the golden run of 'three cycles'" in capsys.readouterr().out
    assert main(["runs", "show", "--config", str(config), str(runs.first)]) == 0
    assert "golden    the golden run of its recipe" in capsys.readouterr().out
    unmark = ["runs", "golden", "--config", str(config), "--run", str(runs.first), "--unmark"]
    assert main([*unmark, "--json", "--by", "fay"]) == 0
    unmarked = json.loads(capsys.readouterr().out)
    assert (unmarked["recipe"], unmarked["golden"], unmarked["marked_by"]) == (
        "three cycles", None, "fay",
    )  # fmt: skip
    assert main(["runs", "golden", "--config", str(config), "--run", str(runs.aborted)]) == 1
    assert "only a completed run can be golden" in capsys.readouterr().out
