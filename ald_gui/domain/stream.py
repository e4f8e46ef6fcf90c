"""The ordered stream from the poll thread to the writer (and to the screen).

The poll thread owns the machine state, so it alone decides which run a sample
belongs to, and it emits run starts and ends in the same stream as the samples:
``RunStarted(P), Batch, Batch, ..., RunEnded(P)``. Times are integer microseconds
since the Unix epoch (UTC), the resolution PostgreSQL stores, so a comparison made
here gives the same answer as one made in SQL.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from ald_gui.domain.alarms import AlarmEvent
from ald_gui.domain.audit import AuditEntry
from ald_gui.domain.refusal import Refusal


def now_us() -> int:
    """Wall-clock time in integer microseconds since the epoch."""
    return time.time_ns() // 1000


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Run:
    """A process run as it started. Its id is made by the console, not the
    database, so a run can start while the database is down."""

    id: uuid.UUID
    machine: str
    operator: str
    started_at_us: int
    note: str = ""
    recipe: str = ""  # the recipe's name; "" for a run without one
    recipe_version: int | None = None
    recipe_sha256: str = ""
    recipe_snapshot: str = ""  # the recipe's canonical form (domain.recipe)


@dataclass(frozen=True, slots=True)
class RunStarted:
    """``request_id``: the command this start answers (domain.commands), None if
    nobody asked; a correlation, not recorded and not compared."""

    seq: int
    run: Run
    request_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class RunEnded:
    seq: int
    run_id: uuid.UUID
    ended_at_us: int
    status: RunStatus
    reason: str = ""
    request_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Batch:
    """One poll: every polled tag's engineering value at one instant.

    ``run_id`` is the run active at ``sampled_at_us`` (None when idle): stamped by
    the poll thread when the sample is taken, never looked up later.
    Bools are stored as 0.0 / 1.0.
    """

    seq: int
    sampled_at_us: int
    values: dict[str, float] = field(hash=False)
    run_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Gap:
    """A poll that produced no values (PLC unreachable, stalled or answering
    garbage). Recorded so a hole in the history is explained, not invented over."""

    seq: int
    at_us: int
    reason: str
    run_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of a recipe as it happened (table ``run_steps``), recorded when it ends.

    ``path`` names the step in the recipe's tree (``steps[2].loop.steps[0]``);
    ``cycles`` the 1-based cycle of every enclosing loop, outermost first. For a pulse,
    ``requested_ms`` is the length asked for and ``measured_ms`` the on-time measured
    (by the PLC's pulse timer, or between the acknowledged open and close). ``outcome``
    is "done", or why the step ended early ("aborted", "failed: ...", "suspended").
    Its stream time is ``ended_at_us``, which lies inside the run ``run_id``.
    """

    seq: int
    run_id: uuid.UUID
    path: str
    kind: str
    cycles: tuple[int, ...]
    started_at_us: int
    ended_at_us: int
    outcome: str = "done"
    requested_ms: float | None = None
    measured_ms: float | None = None
    detail: str = ""  # e.g. the valve, or the tag and value of a set


StreamItem = RunStarted | RunEnded | Batch | Gap | StepRecord | AlarmEvent | Refusal | AuditEntry
