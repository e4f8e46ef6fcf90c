"""A recipe's dry run: every step in execution order, with its start and length.

``timeline(recipe)`` needs no PLC. It iterates lazily, so a recipe of a thousand
cycles costs nothing until it is read, and its totals (length, pulses per valve,
steps) come from the tree without expanding the loops.

Lengths are what the recipe asks for. Two kinds of step cannot be known in advance:

* a wait until a condition, and a set with a tolerance, end when the machine gets
  there; they count their timeout, so the total is an *upper bound* (``open_ended``);
* a set with a ramp ramps from the tag's present value. Given that value (``start``),
  the ramp is estimated, and later sets of the same tag ramp from the value set
  before; without it only the set's hold (and timeout) is counted
  (``unestimated_ramps`` names those steps).

``step_path`` makes the path strings the executor records in ``StepRecord.path``
(``steps[2].loop.steps[0]``), so a record, the screen and a validation message name a
step the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, SetTag, Step, StepKind, Wait
from ald_gui.domain.recipe_progress import LoopPosition


def step_path(parent: str, index: int) -> str:
    """The path of step ``index`` of the loop at ``parent`` ("" for the recipe's own
    steps): ``step_path("", 2) == "steps[2]"``,
    ``step_path("steps[2]", 0) == "steps[2].loop.steps[0]"``."""
    return f"{parent}.loop.steps[{index}]" if parent else f"steps[{index}]"


def tree(recipe: Recipe) -> Iterator[tuple[str, Step]]:
    """Every step of the recipe's tree once (not expanded through loops), depth first,
    with its path: a loop comes before its steps."""

    def walk(parent: str, steps: tuple[Step, ...]) -> Iterator[tuple[str, Step]]:
        for i, step in enumerate(steps):
            path = step_path(parent, i)
            yield path, step
            if isinstance(step.action, Loop):
                yield from walk(path, step.action.steps)

    return walk("", recipe.steps)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One step as it will run: ``loops`` holds the cycle of every enclosing loop,
    outermost first. ``open_ended``: it may end earlier than ``duration_ms`` (which
    counts its timeout). ``ramp_estimated``: False for a ramping set whose ramp time
    is not counted (no start value)."""

    path: str
    kind: StepKind
    loops: tuple[LoopPosition, ...]
    start_ms: int
    duration_ms: int
    detail: str
    open_ended: bool = False
    ramp_estimated: bool = True

    @property
    def cycles(self) -> tuple[int, ...]:
        """The 1-based cycle of every enclosing loop, outermost first (StepRecord.cycles)."""
        return tuple(p.cycle for p in self.loops)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


@dataclass
class _Totals:
    ms: int = 0
    open_ms: int = 0  # the part counted at the timeouts of open-ended steps
    steps: int = 0
    pulses: dict[str, int] = field(default_factory=dict)

    def add(self, other: _Totals, times: int = 1) -> None:
        self.ms += other.ms * times
        self.open_ms += other.open_ms * times
        self.steps += other.steps * times
        for valve, n in other.pulses.items():
            self.pulses[valve] = self.pulses.get(valve, 0) + n * times


class Timeline:
    """The dry run of ``recipe``. Iterating yields every TimelineEntry in execution
    order (lazily); the totals are computed once, from the tree."""

    def __init__(self, recipe: Recipe, start: Mapping[str, float] | None = None) -> None:
        self.recipe = recipe
        self._start = dict(start or {})
        totals = _Totals()
        unestimated: set[str] = set()
        _sum_sequence("", recipe.steps, dict(self._start), totals, unestimated)
        self.total_ms = totals.ms
        self.open_ended_ms = totals.open_ms
        self.step_count = totals.steps
        self.pulses_per_valve: dict[str, int] = dict(sorted(totals.pulses.items()))
        self.open_ended_paths = tuple(p for p, s in tree(recipe) if _open_ended(s))
        self.unestimated_ramps = tuple(p for p, _ in tree(recipe) if p in unestimated)

    @property
    def open_ended(self) -> bool:
        """Whether ``total_ms`` is an upper bound (some step ends on a condition)."""
        return bool(self.open_ended_paths)

    @property
    def pulse_count(self) -> int:
        return sum(self.pulses_per_valve.values())

    def __iter__(self) -> Iterator[TimelineEntry]:
        clock = [0]
        return self._entries("", self.recipe.steps, (), dict(self._start), clock)

    def summary(self) -> str:
        """The totals in one line, for people: length (an upper bound where it is one),
        steps and pulses per valve."""
        length = _duration(self.total_ms)
        if self.open_ended:
            fixed = _duration(self.total_ms - self.open_ended_ms)
            waiting = _duration(self.open_ended_ms)
            length = f"at most {length} ({fixed} plus up to {waiting} waiting on conditions)"
        pulses = ", ".join(f"{v} ×{n}" for v, n in self.pulses_per_valve.items()) or "none"
        text = f"{length}, {self.step_count} steps, pulses: {pulses}"
        if self.unestimated_ramps:
            text += f"; ramps not counted at {', '.join(self.unestimated_ramps)}"
        return text

    def _entries(
        self,
        parent: str,
        steps: tuple[Step, ...],
        loops: tuple[LoopPosition, ...],
        values: dict[str, float],
        clock: list[int],
    ) -> Iterator[TimelineEntry]:
        for i, step in enumerate(steps):
            path = step_path(parent, i)
            action = step.action
            if isinstance(action, Loop):
                for cycle in range(1, action.count + 1):
                    inner = (*loops, LoopPosition(path, cycle, action.count))
                    yield from self._entries(path, action.steps, inner, values, clock)
                continue
            ms, detail, estimated = _leaf(action, values)
            yield TimelineEntry(
                path, step.kind, loops, clock[0], ms, detail, _open_ended(step), estimated
            )
            clock[0] += ms


def planned_ms(steps: tuple[Step, ...]) -> int:
    """The planned length of ``steps`` run once, loops included (waits at their
    timeouts, ramps at their hold alone): what is left of a run is summed from these."""
    totals = _Totals()
    _sum_sequence("", steps, {}, totals, set())
    return totals.ms


def timeline(recipe: Recipe, start: Mapping[str, float] | None = None) -> Timeline:
    """The dry run of ``recipe``; ``start`` holds present values by tag key, from which
    ramps are estimated."""
    return Timeline(recipe, start)


def _ramps(steps: tuple[Step, ...]) -> bool:
    """Whether any of ``steps`` (through loops) is a set with a ramp."""
    for step in steps:
        action = step.action
        if isinstance(action, SetTag) and action.ramp_per_s is not None:
            return True
        if isinstance(action, Loop) and _ramps(action.steps):
            return True
    return False


def _timeout(action: Pulse | Purge | Wait | SetTag | Loop) -> int:
    """The part of a step's length that is its timeout: 0 unless it ends on a
    condition (a wait until, a set with a tolerance), which the recipe model makes
    give a timeout."""
    if isinstance(action, Wait) and action.until is not None:
        return action.timeout_ms or 0
    if isinstance(action, SetTag) and action.tolerance is not None:
        return action.timeout_ms or 0
    return 0


def _open_ended(step: Step) -> bool:
    return _timeout(step.action) > 0


def _leaf(action: Pulse | Purge | Wait | SetTag, values: dict[str, float]) -> tuple[int, str, bool]:
    """``(duration ms, detail, ramp estimated)`` of one step; a set updates ``values``."""
    if isinstance(action, Pulse):
        return action.ms, f"{action.valve} {action.ms} ms", True
    if isinstance(action, Purge):
        flow = f" at {action.flow_sccm:g} sccm" if action.flow_sccm is not None else ""
        return action.ms, f"{action.ms} ms{flow}", True
    if isinstance(action, Wait):
        if action.ms is not None:
            return action.ms, f"{action.ms} ms", True
        assert action.until is not None and action.timeout_ms is not None
        c = action.until
        return (
            action.timeout_ms,
            f"until {c.tag} {c.op} {c.value:g}, at most {action.timeout_ms} ms",
            True,
        )
    return _set(action, values)


def _set(action: SetTag, values: dict[str, float]) -> tuple[int, str, bool]:
    detail = f"{action.tag} = {action.value:g}"
    ms = 0
    estimated = True
    if action.ramp_per_s is not None:
        before = values.get(action.tag)
        if before is None:
            estimated = False
            detail += f", ramp {action.ramp_per_s:g}/s (time not counted: start unknown)"
        else:
            ramp_ms = round(abs(action.value - before) / action.ramp_per_s * 1000)
            ms += ramp_ms
            detail += f", ramp {action.ramp_per_s:g}/s from {before:g} ({ramp_ms} ms)"
    values[action.tag] = action.value
    if action.tolerance is not None:
        assert action.timeout_ms is not None
        ms += action.timeout_ms
        reading = action.reading or action.tag
        detail += f", within ±{action.tolerance:g} on {reading} in at most {action.timeout_ms} ms"
    if action.hold_ms:
        ms += action.hold_ms
        detail += f", hold {action.hold_ms} ms"
    return ms, detail, estimated


def _duration(ms: int) -> str:
    seconds, rest = divmod(ms, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {seconds:02d} s"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds}.{rest:03d} s"


def _sum_sequence(
    parent: str,
    steps: tuple[Step, ...],
    values: dict[str, float],
    totals: _Totals,
    unestimated: set[str],
) -> None:
    for i, step in enumerate(steps):
        path = step_path(parent, i)
        action = step.action
        if isinstance(action, Loop):
            # A ramp inside a loop may start elsewhere in the first cycle than in
            # the others; after one cycle every tag the body sets holds the body's
            # last value, so the second cycle stands for all the rest.
            first = _Totals()
            _sum_sequence(path, action.steps, values, first, unestimated)
            if not _ramps(action.steps):
                totals.add(first, action.count)
                continue
            totals.add(first)
            if action.count > 1:
                later = _Totals()
                _sum_sequence(path, action.steps, values, later, unestimated)
                totals.add(later, action.count - 1)
            continue
        ms, _, estimated = _leaf(action, values)
        if not estimated:
            unestimated.add(path)
        totals.ms += ms
        totals.open_ms += _timeout(action)
        totals.steps += 1
        if isinstance(action, Pulse):
            totals.pulses[action.valve] = totals.pulses.get(action.valve, 0) + 1
