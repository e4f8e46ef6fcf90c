"""The value alarms' conditions for one poll, all at once (numpy), so a thousand rules
cost a few array operations per poll instead of a thousand Python calls.

``ValueConditions.changed`` answers which of its alarms need the state machine's
attention this poll: those whose condition differs from the one last judged, or whose
value went bad (or good). Every other alarm's state cannot change with this poll (the
state machine visits alarms with a delay running or a shelf to expire by itself). The
rule for each kind is the same as ``alarm_rules.condition``, which the state machine
applies to the alarms this returns; a test compares the two.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ald_gui.domain.alarms import AlarmDefinition, AlarmKind

K = AlarmKind
VECTOR_KINDS = frozenset({K.HIGH, K.HIGH_HIGH, K.LOW, K.LOW_LOW, K.DISCRETE, K.DEVIATION})

Bools = npt.NDArray[np.bool_]


class ValueConditions:
    """The alarms of ``definitions`` (all of VECTOR_KINDS), in that order. ``raw``,
    ``bad`` and ``skip`` (suppressed: not judged) mirror the state machine's, which
    writes them back after it judged an alarm."""

    def __init__(self, definitions: Sequence[AlarmDefinition]) -> None:
        keys = sorted({d.tag for d in definitions} | {d.setpoint_tag for d in definitions} - {""})
        self.keys = tuple(keys)
        where = {k: i for i, k in enumerate(keys)}
        self._get: Callable[[Mapping[str, float]], Any] = (
            operator.itemgetter(*keys) if len(keys) > 1 else lambda v: tuple(v[k] for k in keys)
        )
        self._tag = np.array([where[d.tag] for d in definitions], dtype=np.intp)
        self._sp = np.array(
            [where[d.setpoint_tag or d.tag] for d in definitions], dtype=np.intp
        )  # a kind without a setpoint points at its own tag
        self._limit = np.array([d.limit for d in definitions], dtype=np.float64)
        self._band = np.array([d.deadband for d in definitions], dtype=np.float64)
        kinds = [d.kind for d in definitions]
        self._high = np.array([k in (K.HIGH, K.HIGH_HIGH) for k in kinds], dtype=np.bool_)
        self._low = np.array([k in (K.LOW, K.LOW_LOW) for k in kinds], dtype=np.bool_)
        self._discrete = np.array([k is K.DISCRETE for k in kinds], dtype=np.bool_)
        self._deviation = np.array([k is K.DEVIATION for k in kinds], dtype=np.bool_)
        n = len(definitions)
        self.raw: Bools = np.zeros(n, dtype=np.bool_)
        self.bad: Bools = np.zeros(n, dtype=np.bool_)
        self.skip: Bools = np.zeros(n, dtype=np.bool_)

    def changed(self, values: Mapping[str, float]) -> list[int]:
        """The positions of the alarms whose condition or quality changed with ``values``."""
        if not self.keys:
            return []
        try:
            read = self._get(values)
        except KeyError:  # a tag missing from this poll: bad quality for its alarms
            read = tuple(values.get(k, math.nan) for k in self.keys)
        every = np.array(read if isinstance(read, tuple) else (read,), dtype=np.float64)
        v = every[self._tag]
        sp = every[self._sp]
        band = np.where(self.raw, self._band, 0.0)
        with np.errstate(invalid="ignore"):
            cond = (
                (self._high & (v > self._limit - band))
                | (self._low & (v < self._limit + band))
                | (self._discrete & (v == self._limit))
                | (self._deviation & (np.abs(v - sp) > self._limit - band))
            )
        bad = np.isnan(v) | (self._deviation & np.isnan(sp))
        need = (((cond != self.raw) & ~bad) | (bad != self.bad)) & ~self.skip
        return [int(i) for i in np.flatnonzero(need)]
