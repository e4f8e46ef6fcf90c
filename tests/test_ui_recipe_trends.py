"""Recipe cycles on the trends: one tick per cycle of the outermost loop, on every plot,
in the top tenth of the plot, with the cycle in words under the cursor."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.domain.recipe_progress import ExecutorState, LoopPosition, RecipeProgress
from ald_gui.ui.trends import TrendView
from tests.test_ui_trends import INTERVAL, TAGS, feed

RUN = uuid.UUID(int=7)


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[TrendView]:
    v = TrendView(TAGS, poll_interval_s=INTERVAL)
    qtbot.addWidget(v)
    yield v
    v.close()


def progress_of_a_supercycle(t0: float) -> list[RecipeProgress]:
    """Every step boundary of 3 supercycles × 2 cycles × (pulse, purge), one a second."""
    events = []
    at = t0
    for outer in range(1, 4):
        for inner in range(1, 3):
            for i, kind in enumerate(("pulse", "purge")):
                loops = (
                    LoopPosition("steps[0]", outer, 3),
                    LoopPosition("steps[0].loop.steps[0]", inner, 2),
                )
                path = f"steps[0].loop.steps[0].loop.steps[{i}]"
                events.append(
                    RecipeProgress(
                        int(at * 1e6), RUN, "laminate", ExecutorState.RUNNING, path, kind, loops
                    )
                )
                at += 1
    events.append(RecipeProgress(int(at * 1e6), RUN, "laminate", ExecutorState.COMPLETED))
    return events


def test_a_tick_marks_each_outer_cycle_not_each_step(view: TrendView) -> None:
    t0 = time.time() - 60
    for p in progress_of_a_supercycle(t0):
        view.mark_cycle(p, "pulse Valve 1 (TMA) 20 ms" if p.step_kind == "pulse" else "")
    assert view.cycles.times == [pytest.approx(t0), pytest.approx(t0 + 4), pytest.approx(t0 + 8)]
    for ticks, gp in zip(view.cycles._ticks, view.stack.plots, strict=True):
        assert ticks.xvals == view.cycles.times
        assert ticks.yrange == [0.9, 1.0]  # the top tenth: curves stay readable
        assert ticks.parentItem() is gp.vb.childGroup
    assert view.cycles.text_at(t0 + 5.5) == "cycle 2 of 3 · pulse Valve 1 (TMA) 20 ms first"
    assert view.cycles.text_at(t0 - 1) == ""
    feed(view, 10, start=t0)
    view._show_cursor(t0 + 9)
    assert "cycle 3 of 3" in view.readout.text()


def test_a_repeated_event_and_old_cycles_are_dropped(qtbot: QtBot) -> None:
    view = TrendView(TAGS, poll_interval_s=INTERVAL, capacity_s=5 * INTERVAL)
    qtbot.addWidget(view)
    now = time.time()
    events = progress_of_a_supercycle(now - 100)
    assert view.cycles.add(events[0]) and not view.cycles.add(events[0])
    feed(view, 20, start=now - 10)
    view.refresh()
    assert view.cycles.times == [] and view.cycles._ticks[0].xvals == []
    view.close()
