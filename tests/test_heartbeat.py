"""The console's heartbeat against the simulator's watchdog, over real TCP and clocks.

A real engine beats a simulator running on the real clock; the watchdog is shortened
(beats every 100 ms, a trip after 1 s) so the tests take about a second each. The
last one cuts the PLC in the middle of a recipe's pulse: the recipe is suspended and
the watchdog, not the console, closes the valve.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.config.process import Watchdog
from ald_gui.domain.commands import AbortRun
from ald_gui.domain.events import SafetyEvent, SafetyEventKind, WriteConfirmed
from ald_gui.domain.recipe import Pulse, Purge
from ald_gui.domain.recipe_progress import ExecutorState
from ald_gui.domain.stream import RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from tests.acting import acting
from tests.fixtures.plc import quick
from tests.recipe_run import RecipeRun, fast, recipe
from tests.recording import Recording, settle

HEARTBEAT, TRIPPED = "plc_watchdog.heartbeat", "plc_watchdog.tripped"
V1, V3 = "valve_1.valve_state", "valve_3.valve_state"
FAST = Watchdog(
    heartbeat_tag=HEARTBEAT, period_ms=100, timeout_ms=1000, tripped_tag="plc_watchdog.tripped"
)


@pytest.fixture
def fast_watchdog(reference_config: AppConfig) -> AppConfig:
    # Without the permissives: the simulator starts at atmosphere (tests/fixtures/plc.py).
    process = reference_config.process.model_copy(update={"watchdog": FAST, "interlocks": ()})
    return reference_config.model_copy(update={"process": process})


@pytest.fixture
def live_simulator(fast_watchdog: AppConfig) -> Iterator[Simulator]:
    """The reference reactor on the real clock: its watchdog's timeout runs."""
    with Simulator(fast_watchdog) as sim:
        yield sim


def _engine(config: AppConfig, sim: Simulator, data_dir: Path, dsn: str) -> Engine:
    plc = config.plc.model_copy(update={"port": sim.port})
    return acting(Engine(config.model_copy(update={"plc": plc}), data_dir=data_dir, dsn=dsn))


def _safety(recording: Recording, kind: SafetyEventKind) -> list[SafetyEvent]:
    return [e for e in recording.events if isinstance(e, SafetyEvent) and e.kind is kind]


def test_the_heartbeat_beats_at_its_period_between_polls_far_apart(
    fast_watchdog: AppConfig,
    live_simulator: Simulator,
    migrated_pg_dsn: str,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    # Polls every 3 s: only the heartbeat's own deadline wakes the poll thread between.
    engine = _engine(quick(fast_watchdog, 3.0), live_simulator, tmp_path / "data", migrated_pg_dsn)
    seen: list[tuple[float, int]] = []

    def beats() -> int:
        value = int(live_simulator.model.value(HEARTBEAT))
        if not seen or seen[-1][1] != value:
            seen.append((time.monotonic(), value))
        return len(seen)

    engine.open()
    try:
        settle(qtbot, lambda: beats() >= 12, 2.5, "12 heartbeats, before the second poll")
    finally:
        assert engine.shutdown()
    beaten = seen[1:]  # the first value seen may be the register's before any beat
    assert all(b == a % 65535 + 1 for (_, a), (_, b) in itertools.pairwise(beaten))
    intervals = [b - a for (a, _), (b, _) in itertools.pairwise(beaten)]
    # 100 ms apart, on a loaded machine: never near the 1 s timeout.
    assert max(intervals) < 0.5, intervals
    status = live_simulator.model.watchdog()
    assert status is not None and status.armed and status.trips == 0
    print(f"heartbeat intervals: {min(intervals) * 1000:.0f}-{max(intervals) * 1000:.0f} ms")


def test_a_cut_link_trips_the_watchdog_and_the_console_reports_it_when_back(
    fast_watchdog: AppConfig,
    live_simulator: Simulator,
    migrated_pg_dsn: str,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    sim = live_simulator
    engine = _engine(quick(fast_watchdog, 0.05), sim, tmp_path / "data", migrated_pg_dsn)
    recording = Recording.of(engine)
    engine.open()
    try:
        settle(qtbot, lambda: recording.batches, 5.0, "a first sample")
        engine.write_tag(V1, True)
        settle(
            qtbot,
            lambda: any(isinstance(e, WriteConfirmed) for e in recording.events),
            5.0,
            "Valve 1 open",
        )
        sim.answer_with_exception(4)  # every request refused: no poll, no heartbeat
        settle(qtbot, lambda: sim.model.value(TRIPPED), 5.0, "the watchdog to trip")
        assert sim.model.value(V1) is False
        failed = _safety(recording, SafetyEventKind.HEARTBEAT_FAILED)
        assert len(failed) == 1, failed  # one event for the stretch, not one per beat
        assert "exception 4" in failed[0].message

        sim.clear_faults()
        settle(
            qtbot,
            lambda: _safety(recording, SafetyEventKind.WATCHDOG_CLEARED),
            5.0,
            "the console to see the watchdog tripped, then cleared by its heartbeat",
        )
        assert len(_safety(recording, SafetyEventKind.HEARTBEAT_RESUMED)) == 1
        assert len(_safety(recording, SafetyEventKind.WATCHDOG_TRIPPED)) == 1
        assert recording.batches[-1].values[V1] == 0.0  # the valve stays closed
    finally:
        assert engine.shutdown()
    kinds = [e.kind for e in recording.events if isinstance(e, SafetyEvent)]
    # The trip is read before the beat that clears it: reported, not missed.
    assert kinds == [
        SafetyEventKind.HEARTBEAT_FAILED,
        SafetyEventKind.WATCHDOG_TRIPPED,
        SafetyEventKind.HEARTBEAT_RESUMED,
        SafetyEventKind.WATCHDOG_CLEARED,
    ]


def test_plc_cut_mid_pulse_suspends_the_recipe_and_the_watchdog_closes_the_valve(
    fast_watchdog: AppConfig, live_simulator: Simulator, qtbot: QtBot
) -> None:
    sim = live_simulator
    plc = fast_watchdog.plc.model_copy(update={"port": sim.port})
    config = fast(fast_watchdog.model_copy(update={"plc": plc}))
    timeout_s = FAST.timeout_ms / 1000
    sim.model.set_value("vacuum_pump.power_on", True)  # else an alarm aborts the recipe
    with RecipeRun(config, qtbot) as run:
        run.start(recipe(Pulse(valve="Valve 3", ms=4000), Purge(ms=100)))
        run.wait(lambda: sim.model.value(V3), "the pulse to open Valve 3")
        opened_at_s = sim.model.elapsed_s
        sim.stall()  # the PLC stops answering: no close, no heartbeat gets through
        cut_at_s = sim.model.elapsed_s
        suspended = run.wait_state(ExecutorState.SUSPENDED)
        run.wait(lambda: sim.model.value(V3) is False, "the watchdog to close Valve 3")
        status = sim.model.watchdog()
        sim.clear_faults()
        run.wait(
            lambda: [
                e for e in run.events
                if isinstance(e, SafetyEvent) and e.kind is SafetyEventKind.WATCHDOG_CLEARED
            ],
            "the console to see the trip, then clear it",
        )  # fmt: skip
        run.submit(AbortRun("PLC was cut mid-pulse"))
        ended = run.wait_ended()

    assert "its watchdog holds the valves" in suspended.message
    assert status is not None and status.tripped_at_s is not None
    assert status.tripped_at_s - cut_at_s <= timeout_s + 0.05  # a beat on the wire
    assert status.tripped_at_s - opened_at_s < 4.0  # long before the pulse's end
    assert ended.status is RunStatus.ABORTED
    assert sim.model.value(V3) is False
    kinds = [e.kind for e in run.events if isinstance(e, SafetyEvent)]
    assert SafetyEventKind.WATCHDOG_TRIPPED in kinds
