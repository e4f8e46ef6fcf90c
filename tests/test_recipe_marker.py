"""The recipe marker and the recovery a restart owes to a recipe left running.

The file on its own, then the recovery against the simulator over TCP: with the PLC
answering (the safe state applied and verified, the marker gone) and with the PLC away
(nothing claimed, the marker kept, tried again next round).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from ald_gui.config.models import AppConfig
from ald_gui.domain.events import SafetyEventKind, Severity
from ald_gui.domain.stream import Run, RunEnded, RunStarted, RunStatus
from ald_gui.engine.recipe_marker import Interrupted, RecipeMarker, Recovery
from ald_gui.plc.client import PlcClient
from ald_gui.sim.server import Simulator
from ald_gui.ui.event_text import Category, describe
from tests.fixtures.plc import free_port, quick

RUN = Run(uuid.uuid4(), "ald-1", "kim", 1, recipe="Al2O3", recipe_version=3)


@pytest.fixture
def marker(tmp_path: Path) -> RecipeMarker:
    return RecipeMarker(tmp_path / "recipe-running.json")


def test_a_recipe_run_writes_the_marker_and_any_end_removes_it(marker: RecipeMarker) -> None:
    marker.follow(RunStarted(1, Run(uuid.uuid4(), "ald-1", "kim", 1)))  # no recipe: no marker
    assert not marker.path.exists() and marker.found() is None
    marker.follow(RunStarted(2, RUN))
    assert marker.path.stat().st_mode & 0o777 == 0o600
    assert json.loads(marker.path.read_text()) == {
        "run": str(RUN.id), "recipe": "Al2O3", "version": "3",
    }  # fmt: skip
    assert marker.found() == Interrupted(str(RUN.id), "Al2O3", "3")
    marker.follow(RunEnded(3, RUN.id, 2, RunStatus.ABORTED))
    assert not marker.path.exists()


def test_a_marker_cut_short_by_the_crash_still_counts(marker: RecipeMarker) -> None:
    marker.path.write_text('{"run": "1a2b', encoding="utf-8")
    assert marker.found() == Interrupted("unknown", "unknown", "")


def test_recovery_applies_the_safe_state_once_and_says_so(
    marker: RecipeMarker, simulator: Simulator, sim_config: AppConfig
) -> None:
    marker.follow(RunStarted(1, RUN))
    simulator.model.set_value("valve_3.valve_state", True)
    recovery = Recovery(marker, sim_config)
    assert recovery.pending
    with PlcClient(sim_config.plc, sim_config.tags) as client:
        (event,) = recovery.apply(client)
        assert recovery.apply(client) == []  # once
    assert event.kind is SafetyEventKind.RECIPE_INTERRUPTED and event.severity is Severity.WARNING
    assert event.message.startswith(
        f"The last session ended during recipe Al2O3 version 3 (run {RUN.id})"
    )
    assert "safe state verified by read-back" in event.message
    assert simulator.model.value("valve_3.valve_state") is False
    assert not recovery.pending and not marker.path.exists()


def test_with_the_plc_away_recovery_claims_nothing_and_keeps_the_marker(
    marker: RecipeMarker, reference_config: AppConfig
) -> None:
    marker.follow(RunStarted(1, RUN))
    config = quick(reference_config, 0.05)
    plc = config.plc.model_copy(update={"port": free_port()})
    recovery = Recovery(marker, config)
    with PlcClient(plc, config.tags) as client:
        assert recovery.apply(client) == []
    assert recovery.pending and marker.path.exists()


def test_the_event_log_shows_the_restart_in_the_events_own_words(
    marker: RecipeMarker, simulator: Simulator, sim_config: AppConfig
) -> None:
    marker.follow(RunStarted(1, RUN))
    with PlcClient(sim_config.plc, sim_config.tags) as client:
        (event,) = Recovery(marker, sim_config).apply(client)
    entry = describe(event)
    assert (entry.category, entry.severity) == (Category.PLC, Severity.WARNING)
    assert entry.message == event.message
