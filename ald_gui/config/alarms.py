"""The ``[[alarms]]`` section: the alarms the engine evaluates on every poll.

Each entry becomes a domain AlarmDefinition (``definition()``); ``check_alarms`` checks
the references to tags and the combinations of keys, naming the key path of each
problem (``alarms[3].tag: no tag 'x' in the configuration``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ald_gui.domain.alarms import (
    AlarmAction,
    AlarmDefinition,
    AlarmKind,
    Applies,
    Priority,
)
from ald_gui.domain.tags import Tag

_WORDS = ", ".join(p.word for p in Priority)


class AlarmSettings(BaseModel):
    """One alarm. ``limit``'s meaning depends on ``kind`` (domain.alarms.AlarmDefinition);
    ``priority`` is a word (low, medium, high, critical) or 1-4."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = ""
    kind: AlarmKind
    tag: str = ""
    setpoint_tag: str = ""
    limit: float = 0.0
    deadband: float = Field(default=0.0, ge=0)
    on_delay_s: float = Field(default=0.0, ge=0, le=3600)
    off_delay_s: float = Field(default=0.0, ge=0, le=3600)
    priority: Priority = Priority.MEDIUM
    latch: bool = False
    guidance: str = ""
    applies: Applies = Applies.ALWAYS
    steps: tuple[str, ...] = ()
    action: AlarmAction = AlarmAction.NONE

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_word(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return Priority[value.strip().upper()]
            except KeyError:
                raise ValueError(f"{value!r} is not a priority: use {_WORDS} or 1-4") from None
        return value

    def definition(self) -> AlarmDefinition:
        return AlarmDefinition(
            id=self.id, name=self.name or self.id, kind=self.kind, priority=self.priority,
            tag=self.tag, limit=self.limit, deadband=self.deadband, on_delay_s=self.on_delay_s,
            off_delay_s=self.off_delay_s, latch=self.latch, guidance=self.guidance,
            applies=self.applies, steps=self.steps, action=self.action,
            setpoint_tag=self.setpoint_tag,
        )  # fmt: skip


def check_alarms(alarms: Sequence[AlarmSettings], tags: Mapping[str, Tag]) -> list[str]:
    """Problems of ``alarms``, each naming its key path: a repeated id, a tag that does
    not exist or is not polled, a tag where none belongs, steps without ``applies =
    "steps"`` (or the reverse)."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, a in enumerate(alarms):
        at = f"alarms[{i}]"
        if a.id in seen:
            problems.append(f"{at}.id: {a.id!r} repeats alarms[{seen[a.id]}]")
        seen.setdefault(a.id, i)
        keys = [("tag", a.tag)] + ([("setpoint_tag", a.setpoint_tag)] if a.setpoint_tag else [])
        if a.kind.is_system:
            if a.tag:
                problems.append(f"{at}.tag: a {a.kind} alarm watches the console, not a tag")
            keys = []
        elif not a.tag:
            problems.append(f"{at}.tag: a {a.kind} alarm needs the tag it watches")
            keys = []
        if a.kind is AlarmKind.DEVIATION and not a.setpoint_tag:
            problems.append(f"{at}.setpoint_tag: a deviation alarm needs the setpoint's tag")
        for field, key in keys:
            tag = tags.get(key)
            if tag is None:
                problems.append(f"{at}.{field}: no tag {key!r} in the configuration")
            elif not tag.polled:
                problems.append(f"{at}.{field}: tag {key!r} is not polled (not wired)")
        if (a.applies is Applies.STEPS) != bool(a.steps):
            problems.append(
                f'{at}.steps: give steps (step kinds or paths) exactly when applies = "steps"'
            )
    return problems
