"""Where a recipe run stands in its tree: a stack of loop frames, one per level.

Each frame holds the index of the step under way among its loop's steps and the
loop's cycle; entering a loop pushes a frame, the end of its last cycle pops it. Loops
nest to any depth, and no loop is ever expanded: a loop of a million cycles costs one
frame. The cursor always rests on a leaf step (pulse, purge, wait, set) or is done.
"""

from __future__ import annotations

from dataclasses import dataclass

from ald_gui.domain.recipe import Loop, Recipe, Step
from ald_gui.domain.recipe_progress import LoopPosition
from ald_gui.domain.recipe_timeline import planned_ms, step_path


@dataclass
class _Frame:
    path: str  # the loop step's path; "" for the recipe itself
    steps: tuple[Step, ...]
    count: int
    started_at_us: int  # when its first cycle began, for the loop's own record
    index: int = 0
    cycle: int = 1


@dataclass(frozen=True, slots=True)
class LoopEnded:
    """A loop that ran its last cycle: recorded as a step of kind "loop"."""

    path: str
    count: int
    cycles: tuple[int, ...]  # of the loops around it
    started_at_us: int


@dataclass(frozen=True, slots=True)
class Boundary:
    """What moving past a step ended: ``cycle_ended`` when the step closed a cycle of
    its innermost loop (or stood outside every loop), the point where a pause at
    "cycle" takes effect; ``loops`` the loops that ran out, innermost first."""

    cycle_ended: bool
    loops: tuple[LoopEnded, ...]


class Cursor:
    def __init__(self, recipe: Recipe, at_us: int) -> None:
        self._frames = [_Frame("", recipe.steps, 1, at_us)]
        self._descend(at_us)

    @property
    def done(self) -> bool:
        return not self._frames

    @property
    def step(self) -> Step:
        """The leaf step the cursor rests on; raises IndexError once done."""
        frame = self._frames[-1]
        return frame.steps[frame.index]

    @property
    def path(self) -> str:
        frame = self._frames[-1]
        return step_path(frame.path, frame.index)

    @property
    def cycles(self) -> tuple[int, ...]:
        """The 1-based cycle of every loop around the step, outermost first."""
        return tuple(f.cycle for f in self._frames[1:])

    @property
    def loops(self) -> tuple[LoopPosition, ...]:
        return tuple(LoopPosition(f.path, f.cycle, f.count) for f in self._frames[1:])

    def left_ms(self) -> int:
        """The planned time from the start of the step under way to the recipe's end:
        the rest of every frame's current cycle, and its cycles still to come."""
        left = 0
        for frame in self._frames:
            inner = frame is self._frames[-1]
            # An outer frame's current step is the loop being run: counted by the
            # frames inside it, so only the steps after it count here.
            rest = frame.steps[frame.index if inner else frame.index + 1 :]
            left += planned_ms(rest) if rest else 0
            left += (frame.count - frame.cycle) * planned_ms(frame.steps)
        return left

    def advance(self, at_us: int) -> Boundary:
        """Move to the next leaf step (entering and leaving loops); ``at_us`` is when,
        the start time of any loop entered on the way."""
        ended: list[LoopEnded] = []
        cycle_ended = len(self._frames) == 1
        while self._frames:
            frame = self._frames[-1]
            frame.index += 1
            if frame.index < len(frame.steps):
                break
            cycle_ended = True
            if frame.cycle < frame.count:
                frame.cycle += 1
                frame.index = 0
                break
            self._frames.pop()
            if frame.path:
                cycles = tuple(f.cycle for f in self._frames[1:])
                ended.append(LoopEnded(frame.path, frame.count, cycles, frame.started_at_us))
        self._descend(at_us)
        return Boundary(cycle_ended, tuple(ended))

    def _descend(self, at_us: int) -> None:
        while self._frames:
            frame = self._frames[-1]
            action = frame.steps[frame.index].action
            if not isinstance(action, Loop):
                return
            path = step_path(frame.path, frame.index)
            self._frames.append(_Frame(path, action.steps, action.count, at_us))
