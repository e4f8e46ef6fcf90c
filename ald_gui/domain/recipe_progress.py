"""Where a recipe run stands, for the screen, the HTTP port and the log.

The executor (on the poll thread) emits a RecipeProgress at every step boundary and
state change; it is an event, not a record (the record is the stream's StepRecord).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from ald_gui.domain.events import Severity


class ExecutorState(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSING = "pausing"  # asked to pause: holds at the next step (or cycle) boundary
    PAUSED = "paused"
    SUSPENDED = "suspended"  # the PLC was lost: the valves are the watchdog's
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (ExecutorState.COMPLETED, ExecutorState.ABORTED, ExecutorState.FAILED)


@dataclass(frozen=True, slots=True)
class LoopPosition:
    """Cycle ``cycle`` (1-based) of ``count`` of the loop at ``path``."""

    path: str
    cycle: int
    count: int


@dataclass(frozen=True, slots=True)
class RecipeProgress:
    at_us: int
    run_id: uuid.UUID
    recipe: str
    state: ExecutorState
    step_path: str = ""  # the step under way (or next, when paused); "" when final
    step_kind: str = ""
    loops: tuple[LoopPosition, ...] = ()  # outermost first
    elapsed_s: float = 0.0
    estimated_total_s: float = 0.0
    message: str = ""  # why it paused, failed or was aborted
    severity: Severity = Severity.INFO
    request_id: int | None = field(default=None, compare=False)
