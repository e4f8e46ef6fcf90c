"""Where two runs are lined up for an overlay: at the run's start, at the start of
cycle N, or at the start of a named recipe step, found in the run's recorded steps
(``run_steps``, domain.stream.StepRecord).

A step's path names it in the recipe's tree (``steps[0].loop.steps[1]``); its
``cycles`` the 1-based cycle of every enclosing loop, outermost first. "Cycle N" is the
N-th cycle of the run's first outermost loop: it starts with the earliest step recorded
inside that loop with ``cycles[0] == N``. Loops are recorded when they end, so a run
aborted inside a loop still has its cycles, found from the steps within it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ald_gui.domain.stream import StepRecord

__all__ = ["AlignBy", "Alignment", "NoAnchor", "anchor_us", "cycle_starts", "step_paths"]

_LOOP = ".loop."


class AlignBy(StrEnum):
    START = "run start"
    CYCLE = "start of cycle"
    STEP = "start of step"


class NoAnchor(ValueError):
    """The run has no such cycle or step to align on; says which and what it has."""


@dataclass(frozen=True, slots=True)
class Alignment:
    """``cycle``: N for CYCLE (1-based); ``step``: a step's path for STEP, aligned on
    the ``occurrence``-th time it started (1-based: a step inside a loop starts once a
    cycle)."""

    by: AlignBy = AlignBy.START
    cycle: int = 1
    step: str = ""
    occurrence: int = 1

    def __str__(self) -> str:
        if self.by is AlignBy.CYCLE:
            return f"aligned on the start of cycle {self.cycle}"
        if self.by is AlignBy.STEP:
            nth = f" (its start number {self.occurrence})" if self.occurrence > 1 else ""
            return f"aligned on the start of step {self.step}{nth}"
        return "aligned on the run's start"


def _outer_loop(path: str) -> str | None:
    head, found, _ = path.partition(_LOOP)
    return head if found else None


def cycle_starts(steps: Iterable[StepRecord]) -> dict[int, int]:
    """Cycle number to the stream time its first step started, for the run's first
    outermost loop (empty if the run ran no loop)."""
    inside = [(s, loop) for s in steps if (loop := _outer_loop(s.path)) and s.cycles]
    if not inside:
        return {}
    first_loop = min(inside, key=lambda pair: pair[0].started_at_us)[1]
    starts: dict[int, int] = {}
    for s, loop in inside:
        if loop == first_loop:
            n = s.cycles[0]
            starts[n] = min(starts.get(n, s.started_at_us), s.started_at_us)
    return dict(sorted(starts.items()))


def step_paths(steps: Iterable[StepRecord]) -> list[str]:
    """Every step path of the run (loops too), in the order each first started."""
    first: dict[str, int] = {}
    for s in steps:
        first[s.path] = min(first.get(s.path, s.started_at_us), s.started_at_us)
    return sorted(first, key=lambda p: (first[p], p))


def anchor_us(run_started_us: int, steps: Sequence[StepRecord], alignment: Alignment) -> int:
    """The stream time of ``alignment``'s point in a run that started at
    ``run_started_us`` and recorded ``steps``; raises NoAnchor if the run has none."""
    if alignment.by is AlignBy.START:
        return run_started_us
    if alignment.by is AlignBy.CYCLE:
        starts = cycle_starts(steps)
        if alignment.cycle not in starts:
            had = f"cycles 1 to {max(starts)}" if starts else "no loop"
            raise NoAnchor(f"the run has no cycle {alignment.cycle} (it ran {had})")
        return starts[alignment.cycle]
    times = sorted(s.started_at_us for s in steps if s.path == alignment.step)
    if not times:
        raise NoAnchor(f"the run has no step {alignment.step!r}")
    if not 1 <= alignment.occurrence <= len(times):
        raise NoAnchor(
            f"step {alignment.step!r} started {len(times)} times in the run, "
            f"not {alignment.occurrence}"
        )
    return times[alignment.occurrence - 1]
