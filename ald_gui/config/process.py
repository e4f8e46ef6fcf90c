"""The ``[process]`` section: what the recipe executor needs to know about the machine.

Which coils are valves and what flows through them, which valves may time a pulse in
the PLC, the watchdog the console keeps alive, the safe state an abort falls into, and
the machine rules every recipe (and every hand-made write during a recipe) obeys.
Everything refers to tags by key; ``check_process`` checks those references against
the configuration's tags, so a misspelt key is an error at load time, not mid-run.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ald_gui.domain.tags import DataType, RegisterKind, Tag


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ValveRole(StrEnum):
    PRECURSOR = "precursor"  # closed by the safe state; never two open at once
    PURGE = "purge"  # inert gas: left as it is by the safe state
    OTHER = "other"


class PulseTimer(_Section):
    """The PLC times the pulse itself: the console writes the length to ``time_tag``
    and sets ``trigger_tag``; the PLC opens the valve, closes it after that many
    milliseconds, clears the trigger, counts the pulse in ``count_tag`` and reports
    the on-time it measured in ``on_time_tag``."""

    time_tag: str  # writable register, milliseconds
    trigger_tag: str  # writable coil
    count_tag: str  # read-only: pulses completed since power-up (wraps at the type's max)
    on_time_tag: str  # read-only: the last pulse's measured on-time, milliseconds


class Valve(_Section):
    """A valve a recipe may pulse, by the name recipes call it (``Valve 1``)."""

    name: str = Field(min_length=1)
    tag: str  # the coil that opens it (1) and closes it (0)
    role: ValveRole = ValveRole.OTHER
    line: str = ""  # what flows through it, for people: "TMA", "H2O", "N2"
    max_pulse_ms: int | None = Field(default=None, gt=0)  # tighter than rules.max_pulse_ms
    pulse_timer: PulseTimer | None = None


class Watchdog(_Section):
    """The console writes a rising count to ``heartbeat_tag`` every ``period_ms``; the
    PLC (the simulator too) closes every precursor valve and holds the heaters when it
    has not changed for ``timeout_ms``, and says so in ``tripped_tag``."""

    heartbeat_tag: str
    period_ms: int = Field(default=250, ge=20, le=10_000)
    timeout_ms: int = Field(default=2000, ge=100, le=60_000)
    tripped_tag: str = ""

    @model_validator(mode="after")
    def _period_below_timeout(self) -> Self:
        if self.period_ms * 2 > self.timeout_ms:
            raise ValueError(
                f"period_ms ({self.period_ms}) must be at most half of timeout_ms "
                f"({self.timeout_ms}): one late heartbeat must not trip the watchdog"
            )
        return self


class SafeWrite(_Section):
    """One write of the safe state, after every precursor valve is closed."""

    tag: str
    value: float


class ShortPulse(StrEnum):
    WARNING = "warning"
    ERROR = "error"


class PauseAt(StrEnum):
    STEP = "step"  # the next step boundary
    CYCLE = "cycle"  # the end of the innermost loop's cycle under way


class RecipeRules(_Section):
    """Rules of the machine, checked before a run and by the engine during one."""

    # Groups of valve names that never open together. Empty: all precursor valves
    # form one group, the rule every ALD tool has (no gas-phase reaction in the lines).
    exclusive_valves: tuple[tuple[str, ...], ...] = ()
    min_purge_after_pulse_ms: int = Field(default=0, ge=0)
    max_pulse_ms: int = Field(default=10_000, gt=0)
    # Below this, a pulse timed by the console (no PLC pulse timer) is too short for
    # the link to time well: a warning or an error, as configured.
    shortest_console_pulse_ms: int = Field(default=20, ge=0)
    short_pulse: ShortPulse = ShortPulse.WARNING
    pause_at: PauseAt = PauseAt.STEP


class Requirement(_Section):
    """A condition of a permissive, on the latest sample of ``tag``: exactly one of
    ``below`` / ``above`` (a number, strictly) or ``on`` (a switch on or off)."""

    tag: str
    below: float | None = None
    above: float | None = None
    on: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        given = [k for k in ("below", "above", "on") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"requirement on {self.tag!r} needs exactly one of below, above, on "
                f"(got {', '.join(given) or 'none'})"
            )
        return self


class Permissive(_Section):
    """An interlock that permits a write only while every ``require`` holds on the
    latest sample. It guards exactly one of: writes to ``tag``, opening ``valve``, or
    opening every valve of ``role``; with ``above``, only writes of a value above it
    (a heater setpoint above 300 °C). A write of 0 (closing, switching off) is never
    refused: it is the safe direction."""

    name: str = Field(min_length=1)
    tag: str = ""
    valve: str = ""
    role: ValveRole | None = None
    above: float | None = None
    require: tuple[Requirement, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        given = [k for k in ("tag", "valve", "role") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                f"interlock {self.name!r} guards exactly one of tag, valve, role "
                f"(got {', '.join(given) or 'none'})"
            )
        return self


class ProcessSettings(_Section):
    valves: tuple[Valve, ...] = ()
    interlocks: tuple[Permissive, ...] = ()
    purge_flow_tag: str = ""  # the setpoint a purge step's ``flow_sccm`` writes
    safe_state: tuple[SafeWrite, ...] = ()
    watchdog: Watchdog | None = None
    rules: RecipeRules = RecipeRules()

    @model_validator(mode="after")
    def _names_distinct(self) -> Self:
        seen: set[str] = set()
        for i, v in enumerate(self.valves):
            if v.name in seen:
                raise ValueError(f"valves[{i}]: a second valve named {v.name!r}")
            seen.add(v.name)
        for i, group in enumerate(self.rules.exclusive_valves):
            for name in group:
                if name not in seen:
                    raise ValueError(
                        f"rules.exclusive_valves[{i}]: {name!r} is no valve of this machine"
                    )
        names: set[str] = set()
        for i, p in enumerate(self.interlocks):
            if p.name in names:
                raise ValueError(f"interlocks[{i}]: a second interlock named {p.name!r}")
            names.add(p.name)
            if p.valve and p.valve not in seen:
                raise ValueError(f"interlocks[{i}].valve: {p.valve!r} is no valve of this machine")
        return self

    def valve(self, name: str) -> Valve:
        for v in self.valves:
            if v.name == name:
                return v
        raise KeyError(f"{name!r} is no valve of this machine")

    @property
    def precursor_valves(self) -> tuple[Valve, ...]:
        return tuple(v for v in self.valves if v.role is ValveRole.PRECURSOR)

    @property
    def exclusive_groups(self) -> tuple[tuple[str, ...], ...]:
        """The groups of valves that never open together (see RecipeRules)."""
        if self.rules.exclusive_valves:
            return self.rules.exclusive_valves
        names = tuple(v.name for v in self.precursor_valves)
        return (names,) if len(names) > 1 else ()


def check_process(process: ProcessSettings, tags: Mapping[str, Tag]) -> list[str]:
    """Problems of ``process``'s references to ``tags`` (by key), each naming its key
    path: a tag that does not exist, is not wired, or cannot do what it is used for."""
    problems: list[str] = []

    def need(path: str, key: str, *, writable: bool, bit: bool | None = None) -> None:
        tag = tags.get(key)
        if tag is None:
            problems.append(f"process.{path}: no tag {key!r} in the configuration")
            return
        if tag.address is None:
            problems.append(f"process.{path}: tag {key!r} is not wired (no address)")
        if writable and not tag.writable:
            problems.append(f"process.{path}: tag {key!r} is read-only")
        if bit is True and tag.data_type is not DataType.BOOL:
            problems.append(f"process.{path}: tag {key!r} must be a coil (bool)")
        if bit is False and tag.data_type is DataType.BOOL:
            problems.append(f"process.{path}: tag {key!r} must be a number, not a bool")

    for i, v in enumerate(process.valves):
        need(f"valves[{i}].tag", v.tag, writable=True, bit=True)
        if v.pulse_timer is not None:
            t = v.pulse_timer
            need(f"valves[{i}].pulse_timer.time_tag", t.time_tag, writable=True, bit=False)
            need(f"valves[{i}].pulse_timer.trigger_tag", t.trigger_tag, writable=True, bit=True)
            need(f"valves[{i}].pulse_timer.count_tag", t.count_tag, writable=False, bit=False)
            need(f"valves[{i}].pulse_timer.on_time_tag", t.on_time_tag, writable=False, bit=False)
    if process.purge_flow_tag:
        need("purge_flow_tag", process.purge_flow_tag, writable=True, bit=False)
    for i, w in enumerate(process.safe_state):
        need(f"safe_state[{i}].tag", w.tag, writable=True)
    for i, p in enumerate(process.interlocks):
        if p.tag:
            need(f"interlocks[{i}].tag", p.tag, writable=True)
        for j, r in enumerate(p.require):
            need(f"interlocks[{i}].require[{j}].tag", r.tag, writable=False, bit=r.on is not None)
    if process.watchdog is not None:
        wd = process.watchdog
        need("watchdog.heartbeat_tag", wd.heartbeat_tag, writable=True, bit=False)
        hb = tags.get(wd.heartbeat_tag)
        if hb is not None and hb.register_kind is not RegisterKind.HOLDING:
            problems.append(f"process.watchdog.heartbeat_tag: {wd.heartbeat_tag!r} "
                            "must be a holding register")  # fmt: skip
        if wd.tripped_tag:
            need("watchdog.tripped_tag", wd.tripped_tag, writable=False, bit=True)
    return problems
