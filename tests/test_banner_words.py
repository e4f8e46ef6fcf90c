"""The banner's words for what matters most, worked out from the health reports."""

from __future__ import annotations

import dataclasses
import uuid

from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.ui.banner_words import BannerConditions, Weight
from tests.test_ui_health import PLC_OK, WRITER_OK, plc, writer


def _words(c: BannerConditions) -> list[str]:
    return [x.words for x in c.now()]


def test_all_well_says_nothing_more() -> None:
    c = BannerConditions()
    c.on_plc_health(PLC_OK)
    c.on_writer_health(WRITER_OK)
    assert c.now() == []


def test_the_plc_lost_is_said_with_the_time_it_was_lost_and_cleared_when_back() -> None:
    c = BannerConditions(clock_s=lambda: 1_700_000_000.0)
    assert c.on_plc_health(plc(connected=False, last_error="no answer in 0.5 s"))
    assert not c.on_plc_health(plc(connected=False))  # still lost: no change to say
    [lost] = c.now()
    assert lost.words == "PLC LOST" and lost.weight is Weight.TROUBLE
    assert "since" in lost.detail and "watchdog" in lost.detail
    assert c.on_plc_health(PLC_OK) and c.now() == []


def test_database_away_spool_growing_samples_lost_and_another_console_each_in_words() -> None:
    c = BannerConditions()
    assert c.on_writer_health(writer(database_connected=False, spool_depth=812))
    assert _words(c) == ["DATABASE AWAY"] and "812 items" in c.now()[0].detail
    assert c.on_writer_health(writer(oldest_unsent_age_s=95.0))
    assert _words(c) == ["SPOOL GROWING"]
    assert c.on_writer_health(writer(samples_lost=40))
    assert _words(c) == ["SAMPLES LOST"]
    assert c.on_writer_health(writer(lease_taken="console on host b since 12:00"))
    assert _words(c) == ["NOT RECORDING"]


def test_a_paused_recipe_is_a_note_below_any_trouble() -> None:
    c = BannerConditions()
    progress = RecipeProgress(1, uuid.uuid4(), "Al2O3", ExecutorState.PAUSED)
    assert c.on_progress(progress)
    c.on_plc_health(plc(connected=False))
    assert _words(c) == ["PLC LOST", "RECIPE PAUSED"]
    assert c.on_progress(dataclasses.replace(progress, state=ExecutorState.RUNNING))
    assert _words(c) == ["PLC LOST"]
