"""A recipe run from the window, against the real engine, the simulator over TCP and
PostgreSQL: pick a saved version, Start, watch the run panel reach its end; pause and
resume; abort (confirmed, with its reason) closes the valve; a recipe the machine
refuses shows why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Role
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.domain.stream import RunEnded, RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.sim.server import Simulator
from ald_gui.ui.main_window import CloseChoice, MainWindow
from tests.accounts_window import Signer
from tests.recipe_run import fast, recipe


class AbortAnswer:
    reason: str | None = "wrong wafer"
    asked = 0

    def __call__(self, _parent: object, _text: str) -> str | None:
        self.asked += 1
        return self.reason


@pytest.fixture
def answer() -> AbortAnswer:
    return AbortAnswer()


@pytest.fixture
def window(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot, answer: AbortAnswer
) -> Iterator[MainWindow]:
    engine = Engine(fast(sim_config), data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    engine.act_as(Actor("erin", Role.ENGINEER))  # runs drafts (test_ui_login: logging in)
    signer = Signer(qtbot)  # an abort is signed: erin types her password again
    signer.password = "erin's password"
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    w = MainWindow(
        engine,
        settings=settings,
        confirm=lambda *_: True,
        close_ask=lambda *_: CloseChoice.ABORT_RUN,
        ask_reason=answer,
        ask_signature=signer,
    )
    qtbot.addWidget(w)
    w.show()
    engine.open()
    engine.accounts.create_first_administrator("erin", "", signer.password)
    w.engine_opened()
    qtbot.waitUntil(lambda: w.trends.point_count() > 0, timeout=5000)
    yield w
    w.close()


def cycles(count: int, pulse_ms: int = 10) -> Recipe:
    cycle = (Step.of(Pulse(valve="Valve 1", ms=pulse_ms)), Step.of(Purge(ms=10)))
    return recipe(Loop(count=count, steps=cycle), name=f"{count} cycles")


def start(window: MainWindow, r: Recipe) -> None:
    """Save ``r`` from the editor, pick the saved version and press Start."""
    window.recipes.editor.open_recipe(r)
    saved = window.recipes.save()
    assert saved is not None
    panel = window.panel
    panel.recipe.choose(saved.name, saved.version)
    panel.operator.setText("alice")
    assert panel.start_button.isEnabled()
    panel.start_button.click()


def test_a_recipe_started_from_the_window_runs_to_completed(
    window: MainWindow, qtbot: QtBot
) -> None:
    start(window, cycles(5))
    run = window.recipe_run
    qtbot.waitUntil(lambda: run.state.text() == "Completed", timeout=15000)
    qtbot.waitUntil(lambda: window.engine.run is None, timeout=5000)
    assert run.title.text() == "Recipe 5 cycles v1" and "IDLE" in window.panel.banner.text()
    assert run.step.text() == "" and run.times.text().startswith("elapsed")
    assert not run.abort_button.isEnabled() and not run.pause_button.isEnabled()
    # One tick per cycle of the loop on the trends, each with its cycle in words.
    assert len(window.trends.cycles.times) == 5
    assert window.trends.cycles.texts[-1] == "cycle 5 of 5 · pulse Valve 1 (TMA) 10 ms first"
    assert window.panel.message.text() == "Last run ended: completed"


def test_pause_then_resume_from_the_window(window: MainWindow, qtbot: QtBot) -> None:
    start(window, cycles(200))
    run = window.recipe_run
    qtbot.waitUntil(lambda: run.pause_button.isEnabled(), timeout=10000)
    run.pause_button.click()
    qtbot.waitUntil(lambda: run.state.text().startswith("Paused"), timeout=10000)
    assert run.step.text().startswith("Next: ") and run.resume_button.isEnabled()
    assert "cycle " in run.cycles.text() and " of 200" in run.cycles.text()
    run.resume_button.click()
    qtbot.waitUntil(lambda: run.state.text() == "Running", timeout=10000)
    qtbot.waitUntil(lambda: run.state.text() == "Completed", timeout=30000)


def test_abort_is_confirmed_and_ends_in_the_safe_state(
    window: MainWindow, qtbot: QtBot, simulator: Simulator, answer: AbortAnswer
) -> None:
    start(window, recipe(Pulse(valve="Valve 2", ms=5000), Purge(ms=10), name="long pulse"))
    run = window.recipe_run
    qtbot.waitUntil(lambda: simulator.model.value("valve_2.valve_state") is True, timeout=10000)
    qtbot.waitUntil(lambda: run.abort_button.isEnabled(), timeout=5000)
    answer.reason = None  # the operator thinks again
    run.abort_button.click()
    assert answer.asked == 1 and window.engine.run is not None
    answer.reason = "wrong wafer"
    with qtbot.waitSignal(
        window.engine.run_changed, timeout=10000, check_params_cb=lambda i: isinstance(i, RunEnded)
    ) as ended:
        run.abort_button.click()
    assert ended.args[0].status is RunStatus.ABORTED
    assert simulator.model.value("valve_2.valve_state") is False
    qtbot.waitUntil(lambda: run.state.text().startswith("Aborted"), timeout=5000)
    assert "wrong wafer" in run.state.text()


def test_a_recipe_the_machine_refuses_shows_the_reason(window: MainWindow, qtbot: QtBot) -> None:
    start(window, recipe(Pulse(valve="Valve 1", ms=9000), name="too long"))  # max 5000 ms
    qtbot.waitUntil(lambda: "Refused" in window.panel.message.text(), timeout=10000)
    assert "max_pulse_ms" in window.panel.message.text()
    assert window.engine.run is None and window.recipe_run.isHidden()
    qtbot.waitUntil(lambda: window.panel.start_button.isEnabled(), timeout=5000)
