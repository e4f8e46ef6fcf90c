"""The run history window on real runs (engine, simulator, PostgreSQL; real widgets
offscreen), read through the reader login and marked through the writer's: the list
with its figures and filters, a run's page and its trends equal to its rows, the golden
mark, and the overlay aligned on cycle N."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Role
from ald_gui.domain.run_alignment import AlignBy, cycle_starts
from ald_gui.engine.engine import Engine
from ald_gui.engine.history_queries import HistoryQueries
from ald_gui.sim.server import Simulator
from ald_gui.store.golden_runs import golden_run
from ald_gui.store.run_history import run_record
from ald_gui.ui.overlay_view import OTHER
from ald_gui.ui.runs_window import RunsWindow
from tests.fixtures.pg import PASSWORD, READER_LOGIN, WRITER_LOGIN, scalar
from tests.recipe_run import fast
from tests.recorded_runs import CYCLES, RecordedRuns, record_runs

VALVE = "valve_1.valve_state"


@pytest.fixture
def logins(migrated_pg_dsn: str) -> tuple[str, str]:
    return (
        make_conninfo(migrated_pg_dsn, user=READER_LOGIN, password=PASSWORD),
        make_conninfo(migrated_pg_dsn, user=WRITER_LOGIN, password=PASSWORD),
    )


@pytest.fixture
def engine(sim_config: AppConfig, logins: tuple[str, str], tmp_path: Path) -> Iterator[Engine]:
    e = Engine(fast(sim_config), data_dir=tmp_path / "data", dsn=logins[1])
    yield e
    e.shutdown()


@pytest.fixture
def runs(engine: Engine, simulator: Simulator, migrated_pg_dsn: str, qtbot: QtBot) -> RecordedRuns:
    return record_runs(engine, simulator, migrated_pg_dsn, qtbot)


@pytest.fixture
def window(
    qtbot: QtBot, logins: tuple[str, str], tmp_path: Path, engine: Engine
) -> Iterator[RunsWindow]:
    reader, writer = logins
    queries = HistoryQueries(lambda: reader)
    w = RunsWindow(queries, lambda: reader, lambda: writer, lambda: "carla", folder=tmp_path,
                   choose=lambda _, suggested: suggested, journal=engine.audit)  # fmt: skip
    qtbot.addWidget(w)
    yield w
    w.stop()
    queries.close()


def _choose(qtbot: QtBot, window: RunsWindow, run_id: object) -> None:
    rows = [r.id for r in window.list.runs]
    window.list.table.selectRow(rows.index(run_id))
    qtbot.waitUntil(lambda: window.page.run_id == run_id, timeout=10_000)


def test_the_list_shows_the_runs_with_their_figures_and_filters_narrow_it(
    qtbot: QtBot, runs: RecordedRuns, window: RunsWindow
) -> None:
    window.open()
    qtbot.waitUntil(lambda: len(window.list.entries()) == 4, timeout=10_000)
    rows = {row[0]: row for row in window.list.entries()}
    plain = rows[str(runs.plain)[:8]]
    assert plain[5:9] == ["bob", "", "completed", "chamber vented early"]
    assert int(plain[10]) > 0  # its gaps
    assert rows[str(runs.first)[:8]][6:8] == ["three cycles v1", "completed"]
    assert rows[str(runs.aborted)[:8]][7:9] == ["aborted", "stopped by hand"]
    assert window.list.message.text() == "Runs 1–4 of 4"

    lst = window.list
    lst.recipe.setCurrentIndex(lst.recipe.findData("three cycles"))
    lst.search()
    qtbot.waitUntil(lambda: len(lst.entries()) == 2, timeout=10_000)
    assert [r.id for r in lst.runs] == [runs.second, runs.first]
    lst.recipe.setCurrentIndex(0)
    lst.status.setCurrentIndex(lst.status.findData("aborted"))
    lst.search()
    qtbot.waitUntil(lambda: [r.id for r in lst.runs] == [runs.aborted], timeout=10_000)
    lst.status.setCurrentIndex(0)
    lst.text.setText("wafer")
    lst.search()
    qtbot.waitUntil(lambda: [r.id for r in lst.runs] == [runs.plain], timeout=10_000)


def test_a_runs_page_shows_its_steps_and_its_trends_equal_its_rows(
    qtbot: QtBot, runs: RecordedRuns, window: RunsWindow, migrated_pg_dsn: str
) -> None:
    window.open()
    qtbot.waitUntil(lambda: len(window.list.runs) == 4, timeout=10_000)
    _choose(qtbot, window, runs.first)
    page = window.page
    assert page.record is not None
    assert page.steps.rowCount() == len(page.record.steps) == 2 * CYCLES + 1
    assert '"name": "three cycles"' in page.recipe.toPlainText()
    chosen = page.trends.chosen()
    assert chosen, "plotted tags are ticked at first"
    start = page.record.summary.started_us
    qtbot.waitUntil(lambda: len(page.trends.data(chosen[0])[0]) > 0, timeout=10_000)
    with psycopg.connect(migrated_pg_dsn) as conn:
        for key in chosen:
            rows = conn.execute(
                "SELECT (extract(epoch FROM d.sampled_at) * 1000000)::bigint, d.value "
                "FROM process_data_points d JOIN parameters p ON p.id = d.parameter_id "
                "WHERE d.run_id = %s AND p.key = %s ORDER BY d.sampled_at",
                (runs.first, key),
            ).fetchall()
            x, y = page.trends.data(key)
            assert len(rows) > 0
            assert x.tolist() == [(t - start) / 1e6 for t, _ in rows]
            assert y.tolist() == [v for _, v in rows]

    # A tag ticked later is read then, off the GUI thread.
    item = next(
        page.trends.tags.item(i)
        for i in range(page.trends.tags.count())
        if page.trends.tags.item(i).data(256) == VALVE
    )
    item.setCheckState(item.checkState().Checked)
    qtbot.waitUntil(lambda: len(page.trends.data(VALVE)[0]) > 0, timeout=10_000)
    assert set(page.trends.data(VALVE)[1].tolist()) == {0.0, 1.0}


def test_golden_marking_and_an_overlay_aligned_on_cycle_n(
    qtbot: QtBot, runs: RecordedRuns, window: RunsWindow, migrated_pg_dsn: str
) -> None:
    window.open()
    qtbot.waitUntil(lambda: len(window.list.runs) == 4, timeout=10_000)
    page, view = window.page, window.page.overlay
    _choose(qtbot, window, runs.second)
    # No golden run yet: the overlay says how to mark one.
    view.tag.setCurrentIndex(view.tag.findData(VALVE))
    view.ask()
    qtbot.waitUntil(lambda: "has no golden run" in view.message.text(), timeout=10_000)

    _choose(qtbot, window, runs.first)
    # A viewer may not choose what a recipe's runs are held to: greyed, and saying why.
    window.set_actor(Actor("vera", Role.VIEWER))
    assert not page.mark.isEnabled()
    assert "vera (viewer) lacks the permission to release a recipe" in page.mark.toolTip()
    window.set_actor(Actor("erin", Role.ENGINEER))
    assert page.mark.text() == "Mark golden" and page.mark.isEnabled()
    page.mark.click()
    qtbot.waitUntil(lambda: page.golden.golden, timeout=10_000)
    assert page.mark.text() == "Unmark golden"
    machine = runs.recording.started[1].run.machine
    with psycopg.connect(migrated_pg_dsn) as conn:
        assert golden_run(conn, machine, "three cycles") == runs.first
    # And it is in the audit trail, through the engine: no golden run before, this one after.
    journalled = "SELECT object, before, after FROM audit_entries WHERE action = 'golden run'"
    qtbot.waitUntil(lambda: scalar(migrated_pg_dsn, f"SELECT count(*) FROM ({journalled}) j") == 1,
                    timeout=10_000)  # fmt: skip
    with psycopg.connect(migrated_pg_dsn) as conn:
        assert conn.execute(journalled).fetchall() == [
            (f"three cycles on {machine}", "", str(runs.first))
        ]

    _choose(qtbot, window, runs.second)
    assert not page.golden.golden
    view.tag.setCurrentIndex(view.tag.findData(VALVE))
    view.align.setCurrentIndex(view.align.findData(AlignBy.CYCLE))
    view.cycle.setValue(2)
    view.ask()
    qtbot.waitUntil(lambda: view.shown is not None, timeout=10_000)
    shown = view.shown
    assert shown is not None
    assert (shown.run.id, shown.reference.id) == (runs.second, runs.first)
    with psycopg.connect(migrated_pg_dsn) as conn:
        second, first = run_record(conn, runs.second), run_record(conn, runs.first)
    # Both cycle-2 starts are at x = 0 on screen.
    assert shown.run_anchor_us == cycle_starts(second.steps)[2]
    assert shown.reference_anchor_us == cycle_starts(first.steps)[2]
    for curve, record in ((view.run_curve, second), (view.reference_curve, first)):
        x, y = curve.xData, curve.yData  # all of it (getData: what is in view)
        anchor = cycle_starts(record.steps)[2]
        pulse = next(s for s in record.steps if s.kind == "pulse" and s.cycles == (2,))
        assert (pulse.started_at_us - anchor) / 1e6 == 0.0
        # The valve was closed (the purge of cycle 1) in the last sample before x = 0 and
        # shows open within the pulse's 40 ms after it.
        after = int(np.searchsorted(x, 0.0))
        assert y[after - 1] == 0.0
        opened = after + int(np.argmax(y[after:] == 1.0))
        assert y[opened] == 1.0 and 0.0 <= x[opened] < 0.045
    assert view.difference_curve.xData.tolist() == shown.difference.x_s.tolist()
    assert len(shown.difference) > 0
    assert "aligned on the start of cycle 2" in view.message.text()

    view.cycle.setValue(CYCLES + 1)
    view.ask()
    qtbot.waitUntil(lambda: f"no cycle {CYCLES + 1}" in view.message.text(), timeout=10_000)
    view.reference.setCurrentIndex(view.reference.findData(OTHER))
    view.other.setText(str(runs.plain)[:8])
    view.align.setCurrentIndex(view.align.findData(AlignBy.START))
    view.ask()
    qtbot.waitUntil(lambda: view.shown is not None and view.shown.reference.id == runs.plain,
                    timeout=10_000)  # fmt: skip


def test_a_runs_page_lists_its_audit_entries_and_exports_and_reports_it(
    qtbot: QtBot, runs: RecordedRuns, window: RunsWindow, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    window.open()
    qtbot.waitUntil(lambda: len(window.list.runs) == 4, timeout=10_000)
    _choose(qtbot, window, runs.first)
    page = window.page
    with psycopg.connect(migrated_pg_dsn) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_entries WHERE run_id = %s ORDER BY seq", (runs.first,)
            ).fetchall()
        ]
    assert actions, "the run's start is in the audit trail"
    shown = [page.audit.item(r, 3).text() for r in range(page.audit.rowCount())]  # type: ignore[union-attr]
    assert shown == actions

    page.report.click()
    report = tmp_path / f"run-{str(runs.first)[:8]}.pdf"
    qtbot.waitUntil(lambda: "Report written" in page.message.text(), timeout=30_000)
    assert report.read_bytes().startswith(b"%PDF")

    dialog = page.open_export()
    assert dialog is not None and dialog.isVisible()
    with qtbot.waitSignal(dialog.exported, timeout=30_000):
        dialog.start_button.click()
    assert (tmp_path / f"run-{str(runs.first)[:8]}.parquet").stat().st_size > 0
