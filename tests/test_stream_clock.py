"""The stream clock under wall-clock steps and restarts (injected clocks, a real mark file).

Before it, sample times were the wall clock forced to rise by 1 µs: after a step back
by Δ, every sample during Δ was stamped 1 µs after the last, and a restart after the
step started the times and sequence numbers below the previous session's.
"""

from __future__ import annotations

import json
import threading
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.clock import StreamClock, wall_us
from ald_gui.domain.events import ClockStepped
from ald_gui.domain.machine import Machine
from ald_gui.engine.engine import Engine
from ald_gui.store.clock_mark import ClockMark, ClockMarkError, MarkSaver
from ald_gui.ui.event_text import describe
from tests.acting import TESTER
from tests.fixtures.plc import quick
from tests.waiting import wait_until

T = 1_700_000_000_000_000  # µs since the epoch
SECOND = 1_000_000


class Clocks:
    """A wall clock and a monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.wall = T
        self.mono = 5 * SECOND
        self.steps: list[ClockStepped] = []

    def advance(self, us: int) -> None:
        self.wall += us
        self.mono += us

    def stream(self, mark: ClockMark | None = None) -> StreamClock:
        return StreamClock(
            wall=lambda: self.wall,
            monotonic=lambda: self.mono,
            floor_us=mark.load() if mark else 0,
            save=mark.save if mark else lambda _mark: None,
            on_step=self.steps.append,
        )


def _poll_times(clocks: Clocks, clock: StreamClock, n: int, every_us: int) -> list[int]:
    times = []
    for _ in range(n):
        clocks.advance(every_us)
        times.append(clock.now())
        clock.keep_ahead()
    return times


def test_a_step_back_does_not_squeeze_the_samples_taken_during_it() -> None:
    clocks = Clocks()
    clock = clocks.stream()
    before = _poll_times(clocks, clock, 5, SECOND // 10)
    clocks.wall -= 10 * SECOND  # NTP steps the wall clock back by 10 s
    during = _poll_times(clocks, clock, 50, SECOND // 10)  # 5 s: all inside the 10 s
    spacing = [b - a for a, b in zip([before[-1], *during], during, strict=False)]
    # Real elapsed time (100 ms), less at most the 500 ppm slew (50 µs): not 1 µs.
    assert all(SECOND // 10 - 50 <= s <= SECOND // 10 for s in spacing), spacing
    assert [round(s.step_us / SECOND) for s in clocks.steps] == [-10]  # reported once
    assert "stepped back by 10.000 s" in describe(clocks.steps[0]).message


def test_a_step_ahead_is_followed_once() -> None:
    clocks = Clocks()
    clock = clocks.stream()
    first = clock.now()
    clocks.wall += 3600 * SECOND
    clocks.advance(SECOND)
    assert clock.now() == first + 3601 * SECOND  # with the wall clock, still rising
    assert [s.step_us for s in clocks.steps] == [3600 * SECOND]
    _poll_times(clocks, clock, 20, SECOND // 10)
    assert len(clocks.steps) == 1


def test_a_drifting_wall_clock_is_followed_smoothly() -> None:
    clocks = Clocks()
    clock = clocks.stream()
    times = []
    for _ in range(2000):  # 1000 s, the wall clock running 200 ppm fast
        clocks.mono += SECOND // 2
        clocks.wall += SECOND // 2 + 100
        times.append(clock.now())
    assert abs(clocks.wall - times[-1]) <= 100  # level with it, within one poll's drift
    assert all(SECOND // 2 <= b - a <= SECOND // 2 + 250 for a, b in pairwise(times))
    assert clocks.steps == []


def test_a_restart_after_a_step_back_never_reuses_a_time_or_sequence_number(
    tmp_path: Path,
) -> None:
    mark = ClockMark(tmp_path / "stream-clock.json")
    clocks = Clocks()
    first_clock = clocks.stream(mark)
    first = Machine("ald-1", clock_us=first_clock.now)
    batches = [first.batch(first_clock.now(), {}) for _ in range(3)]
    started, gap = first.start("alice"), first.gap("PLC lost")  # the last stamps handed out
    # The console dies at once (no shutdown); the wall clock is then set back an hour
    # and the monotonic clock starts again from another origin (a reboot).
    clocks.wall -= 3600 * SECOND
    clocks.mono = 7
    second_clock = clocks.stream(mark)
    second = Machine("ald-1", clock_us=second_clock.now)
    later = second.batch(second_clock.now(), {})
    assert later.sampled_at_us > gap.at_us > started.run.started_at_us
    assert later.seq > max([b.seq for b in batches] + [started.seq, gap.seq])
    # Reported against the mark, which is up to a second ahead of the last time.
    assert [round(s.step_us / SECOND) for s in clocks.steps] == [-3601]


def test_the_reservation_is_always_ahead_and_rarely_written(tmp_path: Path) -> None:
    saved: list[int] = []
    clocks = Clocks()
    clock = StreamClock(wall=lambda: clocks.wall, monotonic=lambda: clocks.mono, save=saved.append)
    times = _poll_times(clocks, clock, 100, SECOND // 10)  # 10 s at 10 Hz
    assert clock.reserved_us > times[-1]
    assert 15 <= len(saved) <= 25  # about twice a second, not once per sample
    assert saved == sorted(saved)


def test_renewals_are_saved_off_the_poll_thread_and_a_late_one_is_waited_for() -> None:
    clocks = Clocks()
    waited: list[int] = []  # saves the poll thread waited for
    asked: list[int] = []
    durable = [0]
    saver_keeps_up = True

    def save_soon(us: int) -> None:
        asked.append(us)
        if saver_keeps_up:
            durable[0] = us  # done on the saver's thread before the next sample

    clock = StreamClock(
        wall=lambda: clocks.wall, monotonic=lambda: clocks.mono, save=waited.append,
        save_soon=save_soon, saved_us=lambda: durable[0],
    )  # fmt: skip
    assert len(waited) == 1  # the first reservation: when the clock is built, not polled
    waited.clear()
    times = _poll_times(clocks, clock, 100, SECOND // 10)  # 10 s at 10 Hz
    assert waited == [] and 15 <= len(asked) <= 25 and asked == sorted(asked)
    assert max(times) <= durable[0]
    saver_keeps_up = False  # a stalled disk: the next reservation is never durable
    for _ in range(30):
        clocks.advance(SECOND // 10)
        t = clock.now()
        # Never a time beyond a durable reservation: the poll thread waits for one instead.
        assert t <= max([durable[0], *waited])
        clock.keep_ahead()
    assert len(waited) >= 2  # 3 s with reservations of 1 s


def test_the_mark_saver_writes_in_order_and_ends_its_thread(tmp_path: Path) -> None:
    mark = ClockMark(tmp_path / "stream-clock.json")
    saver = MarkSaver(mark, floor_us=10)
    assert saver.saved_us() == 10
    try:
        saver.save_soon(2_000)
        wait_until(lambda: saver.saved_us() == 2_000, 10, "the mark to be saved")
        assert mark.load() == 2_000
        saver.save_soon(1_000)  # lower than saved: never overwrites a higher mark
        saver.save(3_000)  # the poll thread's own, when the saver fell behind
        assert saver.saved_us() == 3_000 and mark.load() == 3_000
    finally:
        saver.close()
    assert mark.load() == 3_000
    assert not [t for t in threading.enumerate() if t.name == "ald-clock-mark"]


def test_the_mark_file_round_trips_and_a_bad_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "stream-clock.json"
    mark = ClockMark(path)
    assert mark.load() == 0
    mark.save(T)
    assert mark.load() == T and json.loads(path.read_text()) == {"reserved_us": T}
    assert list(tmp_path.iterdir()) == [path]  # replaced, no temporary left behind
    path.write_text("garbage", encoding="utf-8")
    with pytest.raises(ClockMarkError, match=r"stream-clock\.json: not a stream clock mark"):
        mark.load()


def test_the_engine_keeps_its_mark_above_every_recorded_time(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    data_dir = tmp_path / "data"
    engine = Engine(quick(sim_config, interval_s=0.02), data_dir=data_dir, dsn=migrated_pg_dsn)
    engine.act_as(TESTER)
    engine.open()
    try:
        for _ in range(3):
            with qtbot.waitSignal(engine.sampled, timeout=5000):
                pass
    finally:
        assert engine.shutdown()
    with psycopg.connect(migrated_pg_dsn) as conn:
        row = conn.execute(
            "SELECT (extract(epoch FROM max(sampled_at)) * 1e6)::bigint"
            " FROM parameter_value_history"
        ).fetchone()
    assert row is not None and row[0] is not None
    assert ClockMark(data_dir / "stream-clock.json").load() > row[0]


def test_an_unreadable_mark_refuses_the_start_and_leaves_nothing_running(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "stream-clock.json").write_text("{}", encoding="utf-8")
    engine = Engine(sim_config, data_dir=data_dir, dsn=migrated_pg_dsn)
    engine.act_as(TESTER)
    with pytest.raises(ClockMarkError, match="restore it, or delete it"):
        engine.open()
    assert engine.shutdown()
    assert (data_dir / "stream-clock.json").read_text() == "{}"  # kept for the operator


def test_after_a_restart_behind_the_last_session_the_engine_records_above_its_mark(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    """As if the wall clock had been set back an hour since the last session."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    mark = wall_us() + 3600 * SECOND
    ClockMark(data_dir / "stream-clock.json").save(mark)
    engine = Engine(quick(sim_config, interval_s=0.02), data_dir=data_dir, dsn=migrated_pg_dsn)
    engine.act_as(TESTER)
    try:
        with qtbot.waitSignal(
            engine.occurred, timeout=5000, check_params_cb=lambda e: isinstance(e, ClockStepped)
        ) as stepped:
            engine.open()
        for _ in range(3):
            with qtbot.waitSignal(engine.sampled, timeout=5000):
                pass
    finally:
        assert engine.shutdown()
    assert stepped.args[0].step_us < -3599 * SECOND
    with psycopg.connect(migrated_pg_dsn) as conn:
        row = conn.execute(
            "SELECT (extract(epoch FROM min(sampled_at)) * 1e6)::bigint,"
            " (SELECT min(first_seq) FROM write_transactions) FROM parameter_value_history"
        ).fetchone()
    assert row is not None and row[0] > mark and row[1] > mark  # times and sequence numbers
