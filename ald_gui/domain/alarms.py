"""Alarms as the operator meets them: definitions, ISA-18.2 states, journal events.

Plain data, no I/O and no Qt, so the window, the headless service, the HTTP port and the
KPI report share one meaning. The state machine that moves an alarm between these states
is ``domain.alarm_engine``; the configuration that defines alarms is ``config.alarms``.

Times are integer microseconds since the epoch, like the rest of the stream.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class AlarmKind(StrEnum):
    """What an alarm watches. The first seven judge a tag's value; the last four are
    system alarms, fed by the engine's health figures (no tag)."""

    HIGH = "high"
    LOW = "low"
    HIGH_HIGH = "high_high"
    LOW_LOW = "low_low"
    DEVIATION = "deviation"  # |value - setpoint| > limit, the setpoint being the tag's
    DISCRETE = "discrete"  # the value equals ``limit`` (a fault bit, a pump that is off)
    BAD_QUALITY = "bad_quality"  # no fresh value for ``limit`` seconds
    PLC_LOST = "plc_lost"  # no poll answered for ``limit`` seconds
    DATABASE_LOST = "database_lost"  # the writer has not reached the database
    SPOOL_NEAR_FULL = "spool_near_full"  # oldest unsent item older than ``limit`` s
    DISK_LOW = "disk_low"  # free bytes beside the spool below ``limit``

    @property
    def is_system(self) -> bool:
        return self in _SYSTEM


_SYSTEM = frozenset({
    AlarmKind.PLC_LOST, AlarmKind.DATABASE_LOST, AlarmKind.SPOOL_NEAR_FULL, AlarmKind.DISK_LOW,
})  # fmt: skip


class Priority(IntEnum):
    """Four levels (ISA-18.2 recommends three or four); shown in words, never as a number."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def word(self) -> str:
        return self.name.lower()


class Applies(StrEnum):
    """When an alarm can be active; outside that it is suppressed by design."""

    ALWAYS = "always"
    RUN = "run"  # while a run is active
    STEPS = "steps"  # while the recipe is in one of the named step kinds or paths


class AlarmAction(StrEnum):
    NONE = "none"
    PAUSE_RECIPE = "pause_recipe"
    ABORT_RECIPE = "abort_recipe"


@dataclass(frozen=True, slots=True)
class AlarmDefinition:
    """One configured alarm. ``limit`` means per kind: the threshold (high, low, ...),
    the allowed deviation, the alarming value (discrete), seconds without a fresh value
    (bad quality, PLC lost, database lost, spool near full) or free bytes (disk low).
    ``deadband`` is in the tag's unit; the condition clears only ``deadband`` inside the
    limit. ``on_delay_s``/``off_delay_s``: how long the condition must hold (or be gone)
    before the alarm raises (or clears). ``latch``: stays active until acknowledged, even
    once the condition is gone. ``steps``: for ``applies = steps``, the step paths or
    kinds (``pulse``, ``steps[2]``) in which it applies. ``setpoint_tag``: the tag a
    deviation alarm compares against."""

    id: str
    name: str
    kind: AlarmKind
    priority: Priority
    tag: str = ""
    limit: float = 0.0
    deadband: float = 0.0
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    latch: bool = False
    guidance: str = ""
    applies: Applies = Applies.ALWAYS
    steps: tuple[str, ...] = ()
    action: AlarmAction = AlarmAction.NONE
    setpoint_tag: str = ""


class AlarmState(StrEnum):
    """ISA-18.2's alarm states. ``UNACKNOWLEDGED``: active, not acknowledged;
    ``ACKNOWLEDGED``: active, acknowledged; ``RETURNED_UNACKNOWLEDGED``: cleared before
    anyone acknowledged it. Shelved, suppressed by design and out of service hide the
    alarm from the operator (each for its own reason) while the condition is still
    watched."""

    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RETURNED_UNACKNOWLEDGED = "returned_unacknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


class AlarmEventKind(StrEnum):
    """What a journal entry records."""

    RAISED = "raised"  # a new occurrence: normal -> unacknowledged
    CLEARED = "cleared"  # the condition is gone (to normal or returned-unacknowledged)
    ACKNOWLEDGED = "acknowledged"
    SHELVED = "shelved"
    UNSHELVED = "unshelved"  # by the operator or at the shelf's expiry
    SUPPRESSED = "suppressed"  # does not apply now (by design)
    UNSUPPRESSED = "unsuppressed"
    REMOVED = "removed"  # taken out of service
    RETURNED = "returned"  # returned to service


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One journal entry (table ``alarm_events``): the alarm ``alarm``'s ``event`` at
    ``at_us``, leaving it in ``state``. ``occurrence`` names the occurrence since it was
    raised (a cleared alarm that returns is a new one); ``run_id`` the run in progress.
    ``operator`` and ``note`` for an acknowledgement, ``note`` the reason of a shelve or
    a removal; ``until_us`` a shelf's expiry. ``value`` the reading that decided it
    (None for a system alarm's figure that is not a number, or bad quality)."""

    seq: int
    at_us: int
    alarm: str
    event: AlarmEventKind
    state: AlarmState
    priority: Priority
    occurrence: uuid.UUID | None
    run_id: uuid.UUID | None = None
    value: float | None = None
    operator: str = ""
    note: str = ""
    until_us: int | None = None


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """Where one alarm stands now, for the screen and ``GET /alarms``. ``active``: the
    condition holds (after its delays); ``acknowledged`` of the current occurrence;
    ``since_us`` when it entered ``state``; ``raised_at_us`` when the occurrence was
    raised; ``bad_quality``: its tag has no fresh value (a PLC outage)."""

    definition: AlarmDefinition
    state: AlarmState
    active: bool
    acknowledged: bool
    since_us: int
    raised_at_us: int | None = None
    occurrence: uuid.UUID | None = None
    value: float | None = None
    bad_quality: bool = False
    shelved_until_us: int | None = None
    reason: str = ""  # of a shelve or a removal from service

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def needs_attention(self) -> bool:
        """Shown to the operator as an alarm (banner, list): unacknowledged, acknowledged
        or returned-unacknowledged."""
        return self.state in (
            AlarmState.UNACKNOWLEDGED,
            AlarmState.ACKNOWLEDGED,
            AlarmState.RETURNED_UNACKNOWLEDGED,
        )


@dataclass(frozen=True, slots=True)
class AlarmBoard:
    """Every alarm not in the normal state, after a poll that changed any, with the
    journal entries that changed them (``events``, in stream order). Sent by the poll
    thread (Engine signal ``alarms_changed``) only when something changed."""

    at_us: int
    alarms: tuple[AlarmStatus, ...] = ()
    events: tuple[AlarmEvent, ...] = field(default=())

    def attention(self) -> tuple[AlarmStatus, ...]:
        """The alarms the operator should see, highest priority first, then newest."""
        shown = [a for a in self.alarms if a.needs_attention]
        shown.sort(key=lambda a: (-a.definition.priority, -(a.raised_at_us or 0)))
        return tuple(shown)


@dataclass(frozen=True, slots=True)
class AlarmCommandDone:
    """The outcome of an alarm command (ack, shelve, ...) that took effect."""

    at_us: int
    alarm: str
    event: AlarmEventKind
    request_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AlarmCommandRefused:
    """The outcome of an alarm command that could not apply: ``reason`` says why (no
    such alarm, nothing to acknowledge, not shelved, ...)."""

    at_us: int
    alarm: str
    reason: str
    request_id: int | None = field(default=None, compare=False)
