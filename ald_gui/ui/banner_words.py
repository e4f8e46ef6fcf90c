"""What the state banner says besides IDLE or RUNNING: the conditions that matter most,
in words, where the eye is.

A run in progress with the PLC lost is not a calm "RUNNING": the banner says PLC LOST
and since when, and turns to the trouble colour. The database away, the spool growing,
samples lost and a paused recipe are said there too. Worked out from the health figures
the engine already reports; Qt-free, so it is tested on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from ald_gui.domain.health import PlcHealth
from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.store.health import WriterHealth


class Weight(IntEnum):
    NOTE = 1  # worth knowing (a recipe paused)
    TROUBLE = 2  # data at risk or not coming in: the banner changes colour


@dataclass(frozen=True, slots=True)
class Condition:
    words: str  # short, in capitals: what the banner says
    detail: str  # one sentence for the line below
    weight: Weight


def _clock(at_s: float) -> str:
    return datetime.fromtimestamp(at_s).strftime("%H:%M:%S")


@dataclass(slots=True)
class BannerConditions:
    """Follows the engine's health reports; ``now()`` lists the conditions in order of
    weight, the heaviest first."""

    plc_lost_since_s: float | None = None
    plc_error: str = ""
    writer: WriterHealth | None = None
    recipe_paused: bool = False
    clock_s: Callable[[], float] = field(default=time.time, repr=False)

    def on_plc_health(self, health: PlcHealth) -> bool:
        """Take a PLC report; True if what the banner says changed."""
        before = self.plc_lost_since_s
        if health.connected:
            self.plc_lost_since_s = None
        elif before is None:
            self.plc_lost_since_s = self.clock_s()
        self.plc_error = health.last_error
        return (before is None) != (self.plc_lost_since_s is None)

    def on_writer_health(self, health: WriterHealth) -> bool:
        before = self._writer_words()
        self.writer = health
        return before != self._writer_words()

    def on_progress(self, progress: RecipeProgress) -> bool:
        paused = progress.state in (ExecutorState.PAUSED, ExecutorState.SUSPENDED)
        changed = paused != self.recipe_paused
        self.recipe_paused = paused
        return changed

    def recipe_ended(self) -> None:
        self.recipe_paused = False

    def now(self) -> list[Condition]:
        found: list[Condition] = []
        if self.plc_lost_since_s is not None:
            found.append(
                Condition(
                    "PLC LOST",
                    f"No data from the PLC since {_clock(self.plc_lost_since_s)}"
                    + (f" ({self.plc_error})" if self.plc_error else "")
                    + "; the PLC's watchdog keeps the reactor safe.",
                    Weight.TROUBLE,
                )
            )
        found.extend(self._writer_conditions())
        if self.recipe_paused:
            found.append(
                Condition("RECIPE PAUSED", "The recipe waits: Resume or Abort.", Weight.NOTE)
            )
        return sorted(found, key=lambda c: -c.weight)

    def _writer_words(self) -> tuple[str, ...]:
        return tuple(c.words for c in self._writer_conditions())

    def _writer_conditions(self) -> list[Condition]:
        w = self.writer
        if w is None:
            return []
        found: list[Condition] = []
        if w.lease_taken:
            found.append(
                Condition(
                    "NOT RECORDING",
                    f"Another console records this machine: {w.lease_taken}.",
                    Weight.TROUBLE,
                )
            )
        elif not w.database_connected:
            found.append(
                Condition(
                    "DATABASE AWAY",
                    f"Recording to the spool on this computer ({w.spool_depth} items waiting);"
                    " nothing is lost while it has room.",
                    Weight.TROUBLE,
                )
            )
        elif w.oldest_unsent_age_s is not None and w.oldest_unsent_age_s > 30:
            found.append(
                Condition(
                    "SPOOL GROWING",
                    f"The database is slow: the oldest unsent sample is"
                    f" {w.oldest_unsent_age_s:.0f} s old.",
                    Weight.TROUBLE,
                )
            )
        if w.samples_lost:
            found.append(
                Condition(
                    "SAMPLES LOST",
                    f"{w.samples_lost} samples could not be kept (memory and spool full).",
                    Weight.TROUBLE,
                )
            )
        return found
