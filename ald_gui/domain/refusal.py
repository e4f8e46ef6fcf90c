"""Refusal: a write an interlock refused, as journalled (``refusals``, migration 0008).

One record per refused write, whoever asked (the window, HTTP, a recipe's step),
naming the rule and the whole reason the operator was shown, and the run in progress
when it was refused, if any: a run's record says which of its writes were refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    seq: int
    at_us: int
    rule: str  # the interlock's name, or exclusive_valves
    tag: str  # the tag key the write was for
    value: float  # the value asked for
    reason: str  # "refused by interlock '...': ..." as shown
    run_id: uuid.UUID | None = None
