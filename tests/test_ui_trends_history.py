"""Back-fill of the live trends from the real database, real widgets offscreen: the last
window at start, history after a restart, history when panning past the ring, and the
join of history and ring without a duplicate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.stream import Batch
from ald_gui.engine.engine import Engine
from ald_gui.engine.history_queries import HistoryQueries
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.roles import Group
from ald_gui.store.server import EmbeddedServer
from ald_gui.ui.trends import TrendView
from ald_gui.ui.trends_history import DELAY_S, POINTS_PER_TURN, BackFill
from tests.fixtures.pg import scalar
from tests.test_history_read import add_rows

MACHINE = "reactor-h"
POLL_S = 0.5


@pytest.fixture
def owner(migrated_pg_dsn: str, reference_config: AppConfig) -> Iterator[psycopg.Connection]:
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as conn:
        sync_parameters(conn, MACHINE, reference_config.tags)
        yield conn


@pytest.fixture
def queries(pg_server: EmbeddedServer, migrated_pg_dsn: str) -> Iterator[HistoryQueries]:
    dbname = conninfo_to_dict(migrated_pg_dsn)["dbname"]
    dsn = make_conninfo(pg_server.login_dsn(Group.READER), dbname=dbname)
    runner = HistoryQueries(lambda: dsn)
    yield runner
    runner.close()


@pytest.fixture
def view(qtbot: QtBot, reference_config: AppConfig) -> TrendView:
    v = TrendView(reference_config.tags, poll_interval_s=POLL_S, capacity_s=60.0)
    v.resize(1000, 700)
    qtbot.addWidget(v)
    return v


def shown_key(view: TrendView) -> str:
    return sorted(view.state()["visible"])[0]  # type: ignore[arg-type]


def ids(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT key, id FROM parameters WHERE machine = %s", (MACHINE,))
    return dict(rows.fetchall())


def test_at_start_the_trends_show_the_last_window_from_the_database(qtbot, view, owner, queries):
    key = shown_key(view)
    now_us = int(time.time() * 1e6)
    t = now_us - 300_000_000 + np.arange(290, dtype=np.int64) * 1_000_000
    v = np.cos(np.arange(290) / 20.0)
    add_rows(owner, ids(owner)[key], t, v)
    view.attach_history(queries, MACHINE)
    view.show()
    assert view.backfill is not None
    # Asked at the first frame, with the mark up while the answer is out.
    assert view.backfill.loading and view.backfill.mark.isVisible()
    qtbot.waitUntil(lambda: not view.backfill.loading, timeout=10_000)
    assert not view.backfill.mark.isVisible() and view.backfill.last_error == ""
    ht, hv = view.backfill.history_data(key)
    np.testing.assert_array_equal(ht, t / 1e6)
    np.testing.assert_array_equal(hv, v)
    drawn_t, _ = view.backfill.items[key].getData()
    assert drawn_t is not None and len(drawn_t) > 0 and view.backfill.items[key].isVisible()


def feed(view: TrendView, key: str, t_us: np.ndarray, values: np.ndarray) -> None:
    for seq, (t, v) in enumerate(zip(t_us.tolist(), values.tolist(), strict=True)):
        view.add_batch(Batch(seq=seq + 1, sampled_at_us=t, values={key: v}))


def test_panning_past_the_ring_loads_history_that_meets_the_ring_without_duplicate(
    qtbot, view, owner, queries
):
    key = shown_key(view)
    start = int(time.time() * 1e6) - 3_600_000_000
    # One hour in the database at the poll interval; the ring holds its last 60 s (as
    # the console that recorded it would), fed the same rows.
    t = start + np.arange(7200, dtype=np.int64) * 500_000
    v = np.sin(np.arange(7200) / 50.0)
    add_rows(owner, ids(owner)[key], t, v)
    held = view.ring.capacity
    feed(view, key, t[-held:], v[-held:])
    view.attach_history(queries, MACHINE)
    view.pause()
    ring_first = view.ring.first_time
    assert ring_first == t[-held] / 1e6
    # The view lies in the ring: nothing to fetch.
    view.stack.set_x_range(ring_first + 1, ring_first + 50)
    view.show()
    view.refresh()
    assert not view.backfill.loading and view.backfill.covered is None
    # Pan left past the ring: asked only after the view rested (at most two rows per
    # pixel column, so they are drawn as fetched).
    lo, hi = t[-held - 1000] / 1e6, ring_first + 30
    view.stack.set_x_range(lo, hi)
    view.backfill.moved()
    view.refresh()
    assert not view.backfill.loading  # the view just moved
    qtbot.waitUntil(lambda: (view.refresh(), view.backfill.loading)[1], timeout=5_000)
    qtbot.waitUntil(lambda: not view.backfill.loading, timeout=10_000)
    assert view.backfill.last_error == ""
    ht, hv = view.backfill.history_data(key)
    # Everything before the ring, nothing of it: the two meet without overlap.
    assert ht[-1] == t[-held - 1] / 1e6 and ht[-1] < ring_first
    assert ht[0] <= lo
    joined = np.concatenate([ht, view.ring.times()])
    assert np.all(np.diff(joined) > 0)
    # ... and without a seam: the drawn history is carried on to the ring's first row.
    drawn_t, drawn_v = view.backfill.items[key].getData()
    assert (drawn_t[-1], drawn_v[-1]) == (ring_first, v[-held])
    # Raw rows here (few enough per pixel): the values are the database's.
    inside = (t / 1e6 >= ht[0]) & (t / 1e6 < ring_first)
    assert inside.sum() <= 2 * view.backfill.covered.width_px
    np.testing.assert_array_equal(hv, v[inside])


def test_after_a_restart_the_trends_show_the_previous_session(
    qtbot, sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
):
    config = sim_config.model_copy(update={"poll": PollSettings(interval_s=0.05)})
    first = Engine(config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    first.open()
    try:
        seen: list[Batch] = []
        first.sampled.connect(seen.append)
        qtbot.waitUntil(lambda: len(seen) >= 20, timeout=10_000)
    finally:
        assert first.shutdown()
    recorded = scalar(
        migrated_pg_dsn, "SELECT count(DISTINCT sampled_at) FROM parameter_value_history"
    )
    assert recorded >= 20

    second = Engine(config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    second.open()
    try:
        trends = TrendView(config.tags, poll_interval_s=0.05)
        qtbot.addWidget(trends)
        trends.resize(1000, 700)
        trends.attach_history(second.history, second.machine)
        second.sampled.connect(trends.add_batch)
        trends.show()
        assert trends.backfill is not None
        key = shown_key(trends)
        qtbot.waitUntil(lambda: len(trends.backfill.history_data(key)[0]) > 0, timeout=10_000)
        ht, hv = trends.backfill.history_data(key)
        before = [b for b in seen if key in b.values and b.sampled_at_us / 1e6 in set(ht)]
        # The first session's samples, with their values, all before this session's.
        assert len(before) >= 20
        for b in before:
            assert hv[np.searchsorted(ht, b.sampled_at_us / 1e6)] == pytest.approx(
                b.values[key], rel=1e-6
            )
        ring_first = trends.ring.first_time
        assert ring_first is None or ht[-1] < ring_first
    finally:
        assert second.shutdown()


CURVES = 16
GUI_BLOCK_S = 0.016  # the goal: back-fill never holds the GUI thread longer


def test_a_large_answer_is_taken_in_and_drawn_a_few_cheap_steps_at_a_time(
    qtbot, reference_config, owner, queries, monkeypatch
):
    """Sixteen dense curves over the window: the answer arrives ready to draw (at most
    three points per pixel column, each column's extremes kept), it is handed over at
    most POINTS_PER_TURN points (or one curve) at a time, and neither deciding, nor
    taking the answer in, nor any hand-over holds the GUI thread for a frame (its own
    CPU time: what the machine's other load adds to the wall clock is not the
    back-fill's)."""
    held: dict[str, list[float]] = {"_answered": [], "check": [], "_draw_some": []}
    handed: list[tuple[int, int]] = []  # per hand-over: points, curves
    for name, calls in held.items():  # on the class, before the view binds its slots
        original = getattr(BackFill, name)

        def timed(self, *args, _original=original, _calls=calls, _name=name):
            undrawn = list(self._undrawn)
            begun = time.thread_time()
            try:
                return _original(self, *args)
            finally:
                _calls.append(time.thread_time() - begun)
                if _name == "_draw_some" and len(self._undrawn) < len(undrawn):
                    gone = undrawn[: len(undrawn) - len(self._undrawn)]
                    points = sum(len(self.history_data(k)[0]) for k in gone)
                    handed.append((points, len(gone)))

        monkeypatch.setattr(BackFill, name, timed)
    view = TrendView(reference_config.tags, poll_interval_s=POLL_S, capacity_s=60.0)
    view.resize(1800, 900)
    qtbot.addWidget(view)
    keys = [k for g in view.groups if not g.is_state for k in (c.key for c in g.curves)][:CURVES]
    assert len(keys) == CURVES
    view.restore({"visible": keys, "window_s": 3600.0})
    view.pause()  # the window stays where it is while the answer is drawn
    now_us = int(time.time() * 1e6)
    rows = 12_000  # over 1.5 h: more than four per pixel column, so the answer is reduced
    t = now_us - 5_400_000_000 + np.arange(rows, dtype=np.int64) * 450_000
    pids = ids(owner)
    for n, key in enumerate(keys):
        v = np.sin(np.arange(rows) / (30.0 + n))
        v[7000 + n], v[9000 - n] = 5.0 + n, -5.0 - n  # extremes inside the window
        add_rows(owner, pids[key], t, v)
    view.attach_history(queries, MACHINE)
    backfill = view.backfill
    view.show()
    qtbot.waitUntil(lambda: backfill.loading, timeout=5_000)
    qtbot.waitUntil(lambda: not backfill.loading, timeout=120_000)
    assert backfill.last_error == "" and len(held["_answered"]) == 1
    width = backfill.covered.width_px
    for n, key in enumerate(keys):
        ht, hv = backfill.history_data(key)
        assert len(ht) <= 3 * width < rows  # reduced off the GUI thread
        assert (np.nanmax(hv), np.nanmin(hv)) == (5.0 + n, -5.0 - n)
        drawn_t, _ = backfill.items[key].getData()
        assert len(drawn_t) == len(ht)  # every curve handed over
    assert sum(c for _, c in handed) == CURVES
    assert all(p <= POINTS_PER_TURN or c == 1 for p, c in handed)
    assert len(handed) >= 4  # a few curves at a time, not all at once
    # The whole share of the GUI thread: setData, the Y fit and the path are built in
    # these calls; the paint that follows only draws what the view shows.
    assert max(held["_answered"] + held["check"] + held["_draw_some"]) < GUI_BLOCK_S


def test_a_question_out_is_let_come_while_only_the_clock_moves(view, owner, queries):
    """Following live with an empty ring, the right edge moves with the clock: that
    alone never cancels the question out (a slow database would then never answer);
    a pan does, once the view rests."""
    clock, wall = [100.0], [1_800_000_000.0]
    backfill = BackFill(
        queries,
        MACHINE,
        view.curves,
        view.stack.items,
        view.ring,
        view.stack.canvas,
        seam_gap_s=1.0,
        clock=lambda: clock[0],
        wall=lambda: wall[0],
    )
    backfill.show({shown_key(view)})
    backfill.check(wall[0] - 600, wall[0], None, 900)
    assert backfill.loading
    ticket = backfill._asked[0]
    wall[0] += 60.0  # a minute on: far more than the asked span's slack
    backfill.check(wall[0] - 600, wall[0], None, 900)
    assert backfill._asked[0] == ticket and queries.is_current("trends", ticket)
    backfill.moved()
    clock[0] += 0.1
    backfill.check(wall[0] - 900, wall[0], None, 900)
    assert backfill._asked[0] == ticket  # not rested yet
    clock[0] += DELAY_S
    backfill.check(wall[0] - 900, wall[0], None, 900)
    assert backfill._asked[0] != ticket and not queries.is_current("trends", ticket)
