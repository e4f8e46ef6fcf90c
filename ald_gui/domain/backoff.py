"""Capped exponential backoff with jitter, for reconnecting to the PLC (and the database).

Jitter spreads reconnects of many consoles after a shared outage (a switch reboot) so
they do not hit the PLC or the server in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    minimum_s: float
    maximum_s: float
    rng: random.Random = field(default_factory=random.Random)
    _next_s: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._next_s = self.minimum_s

    def next_delay(self) -> float:
        """The delay before the next attempt: full jitter over a doubling, capped window."""
        window = self._next_s
        self._next_s = min(self.maximum_s, self._next_s * 2)
        return self.minimum_s / 2 + self.rng.uniform(0, window - self.minimum_s / 2)

    def reset(self) -> None:
        self._next_s = self.minimum_s
