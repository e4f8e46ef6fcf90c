"""How the PLC link is doing, as the poll thread sees it after every poll."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlcHealth:
    connected: bool
    round_trip_s: float | None
    requests_per_poll: int
    polls: int
    failed_polls: int
    missed_cycles: int
    jitter_p99_s: float
    last_error: str
    running_run: str | None
