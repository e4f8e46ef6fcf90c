"""A recipe: an immutable tree of steps that the executor runs against the machine.

In a TOML file each step is a table with exactly one key, its kind, so an error names
a path an engineer can find: ``steps[2].loop.steps[0].pulse.valve``::

    name = "Al2O3"
    version = 3
    [[steps]]
    loop = { count = 100, steps = [
        { pulse = { valve = "Valve 1", ms = 20 } },
        { purge = { ms = 3000, flow_sccm = 50 } },
    ] }

Durations are whole milliseconds. The canonical form (sorted keys, no spaces, no
unset fields) and its SHA-256 identify a version: two files that differ only in
layout or comments are the same recipe.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Pulse(_Frozen):
    """Open ``valve`` for ``ms`` milliseconds, then close it."""

    valve: str = Field(min_length=1)
    ms: int = Field(gt=0)


class Purge(_Frozen):
    """Every precursor valve stays closed for ``ms``; with ``flow_sccm`` the purge flow
    setpoint is written first."""

    ms: int = Field(gt=0)
    flow_sccm: float | None = Field(default=None, ge=0)


class Comparison(StrEnum):
    BELOW = "<"
    AT_MOST = "<="
    ABOVE = ">"
    AT_LEAST = ">="

    def holds(self, value: float, limit: float) -> bool:
        match self:
            case Comparison.BELOW:
                return value < limit
            case Comparison.AT_MOST:
                return value <= limit
            case Comparison.ABOVE:
                return value > limit
            case Comparison.AT_LEAST:
                return value >= limit


class Condition(_Frozen):
    """``tag op value``, on the tag's latest sample."""

    tag: str = Field(min_length=1)
    op: Comparison
    value: float


class Wait(_Frozen):
    """Wait ``ms``, or until ``until`` holds (failing the run after ``timeout_ms``)."""

    ms: int | None = Field(default=None, gt=0)
    until: Condition | None = None
    timeout_ms: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.ms is None) == (self.until is None):
            raise ValueError("a wait needs either ms or until (not both)")
        if self.until is not None and self.timeout_ms is None:
            raise ValueError("a wait until a condition needs timeout_ms")
        if self.ms is not None and self.timeout_ms is not None:
            raise ValueError("timeout_ms applies to a wait until a condition, not to ms")
        return self


class SetTag(_Frozen):
    """Write ``value`` to ``tag`` (ramping at ``ramp_per_s`` from the present value
    when given); with ``tolerance``, wait until ``reading`` (default: the tag itself)
    is within it, failing after ``timeout_ms``; then hold ``hold_ms``."""

    tag: str = Field(min_length=1)
    value: float
    ramp_per_s: float | None = Field(default=None, gt=0)
    tolerance: float | None = Field(default=None, gt=0)
    reading: str | None = None
    timeout_ms: int | None = Field(default=None, gt=0)
    hold_ms: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _tolerance_needs_timeout(self) -> Self:
        if self.tolerance is not None and self.timeout_ms is None:
            raise ValueError("a set with a tolerance needs timeout_ms")
        if self.reading is not None and self.tolerance is None:
            raise ValueError("reading applies only with a tolerance")
        return self


class Loop(_Frozen):
    count: int = Field(ge=1)
    steps: tuple[Step, ...] = Field(min_length=1)


class StepKind(StrEnum):
    PULSE = "pulse"
    PURGE = "purge"
    WAIT = "wait"
    SET = "set"
    LOOP = "loop"


Action = Pulse | Purge | Wait | SetTag | Loop


class Step(_Frozen):
    """Exactly one of the fields is set: the step's kind."""

    pulse: Pulse | None = None
    purge: Purge | None = None
    wait: Wait | None = None
    set_: SetTag | None = Field(default=None, alias="set")
    loop: Loop | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in StepKind if self._field(k) is not None]
        if len(given) != 1:
            kinds = ", ".join(k.value for k in StepKind)
            found = ", ".join(k.value for k in given) or "none"
            raise ValueError(f"a step is exactly one of {kinds} (found: {found})")
        return self

    def _field(self, kind: StepKind) -> Action | None:
        value: Action | None = getattr(self, "set_" if kind is StepKind.SET else kind.value)
        return value

    @property
    def kind(self) -> StepKind:
        return next(k for k in StepKind if self._field(k) is not None)

    @property
    def action(self) -> Action:
        action = self._field(self.kind)
        assert action is not None
        return action

    @classmethod
    def of(cls, action: Action) -> Step:
        """The step that does ``action``."""
        kind = {Pulse: "pulse", Purge: "purge", Wait: "wait", SetTag: "set", Loop: "loop"}
        return cls.model_validate({kind[type(action)]: action})


class Recipe(_Frozen):
    name: str = Field(min_length=1)
    version: int = Field(default=1, ge=1)
    description: str = ""
    author: str = ""
    steps: tuple[Step, ...] = Field(min_length=1)

    def canonical(self) -> str:
        """The canonical JSON form: what the hash covers and what a run stores."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    @classmethod
    def from_canonical(cls, text: str) -> Recipe:
        return cls.model_validate_json(text)


Loop.model_rebuild()
