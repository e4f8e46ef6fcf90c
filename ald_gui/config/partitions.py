"""The ``[partitions]`` section: how the history is cut into partitions and how long it
is kept (README, "Partitions, retention and rollups").

``period`` is the span of one partition of the sample tables (a UTC day, week or month);
the console keeps ``ahead`` partitions made beyond the current one. ``keep`` is the
retention policy ``ald-gui db retention`` applies when given no ``--keep``: a number of
days or weeks (``90d``, ``12w``); empty keeps everything.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_KEEP = re.compile(r"^([1-9][0-9]{0,4})([dw])$")


class PartitionSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    period: Literal["day", "week", "month"] = "day"
    ahead: int = Field(default=3, ge=1, le=366)
    keep: str = ""

    @field_validator("keep")
    @classmethod
    def _keep_is_a_span(cls, value: str) -> str:
        if value:
            parse_keep(value)
        return value


def parse_keep(text: str) -> timedelta:
    """The span ``text`` names: ``90d`` (days) or ``12w`` (weeks). Raises ValueError
    naming the text and the form expected."""
    match = _KEEP.match(text.strip())
    if match is None:
        raise ValueError(f"keep {text!r}: write a number of days or weeks, e.g. 90d or 12w")
    count, unit = int(match.group(1)), match.group(2)
    return timedelta(days=count * (7 if unit == "w" else 1))
