"""When an alarm's condition holds: the rule of each kind, and when an alarm applies.

``condition`` is called for every alarm on every poll, so it is a plain function with a
branch per kind and no allocation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ald_gui.domain.alarms import AlarmDefinition, AlarmKind, Applies

K = AlarmKind


@dataclass(frozen=True, slots=True)
class Situation:
    """What decides whether an alarm applies now: a run is active, and the recipe step
    under way (its path, such as ``steps[2].loop.steps[0]``, and its kind, ``pulse``)."""

    running: bool = False
    step_path: str = ""
    step_kind: str = ""

    def admits(self, d: AlarmDefinition) -> bool:
        if d.applies is Applies.ALWAYS:
            return True
        if d.applies is Applies.RUN:
            return self.running
        return self.running and (self.step_kind in d.steps or self.step_path in d.steps)


@dataclass(frozen=True, slots=True)
class SystemFigures:
    """The health figures system alarms judge, as the poll thread last had them.
    ``plc_lost_s``: how long no poll has answered (None: the PLC answers); the writer's
    figures from store.health.WriterHealth (None: not reported yet)."""

    plc_lost_s: float | None = None
    database_lost_s: float | None = None
    oldest_unsent_s: float | None = None
    disk_free_bytes: int | None = None


def condition(
    d: AlarmDefinition,
    values: Mapping[str, float] | None,
    figures: SystemFigures,
    was: bool,
) -> bool | None:
    """Whether ``d``'s condition holds; ``was``: whether it held at the last good value
    (a high alarm then clears only ``deadband`` below its limit). None: no fresh value
    to judge (bad quality)."""
    kind = d.kind
    if kind.is_system:
        return _system(d, figures)
    v = values.get(d.tag) if values is not None else None
    fresh = v is not None and not math.isnan(v)
    if kind is K.BAD_QUALITY:
        return not fresh  # the alarm on the missing value itself (its delay: on_delay_s)
    if values is None or v is None or not fresh:
        return None
    band = d.deadband if was else 0.0
    if kind is K.HIGH or kind is K.HIGH_HIGH:
        return v > d.limit - band
    if kind is K.LOW or kind is K.LOW_LOW:
        return v < d.limit + band
    if kind is K.DISCRETE:
        return v == d.limit
    if kind is K.DEVIATION:
        sp = values.get(d.setpoint_tag)
        if sp is None or math.isnan(sp):
            return None
        return abs(v - sp) > d.limit - band
    return False


def _system(d: AlarmDefinition, f: SystemFigures) -> bool:
    kind = d.kind
    if kind is K.PLC_LOST:
        return f.plc_lost_s is not None and f.plc_lost_s >= d.limit
    if kind is K.DATABASE_LOST:
        return f.database_lost_s is not None and f.database_lost_s >= d.limit
    if kind is K.SPOOL_NEAR_FULL:
        return f.oldest_unsent_s is not None and f.oldest_unsent_s > d.limit
    return f.disk_free_bytes is not None and f.disk_free_bytes < d.limit
