"""Alarm performance figures (ISA-18.2 / EEMUA 191) from the alarm journal.

Computed from journal entries (AlarmEvent), so ``ald-gui alarms report`` and the
window's dialog give the same figures: alarms per 10 minutes (the average and the
busiest 10 minutes), time in flood (more than 10 alarms in 10 minutes), the ten most
frequent alarms, chattering alarms (raised 3 times or more within a minute) and standing
alarms (active for longer than a day at the end of the span).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ald_gui.domain.alarms import AlarmEvent, AlarmEventKind, AlarmState

TEN_MINUTES_US = 600 * 10**6
FLOOD_ALARMS = 10  # more than this many in ten minutes is a flood (ISA-18.2)
CHATTER_ALARMS = 3  # raised this often ...
CHATTER_WINDOW_US = 60 * 10**6  # ... within a minute
STANDING_US = 24 * 3600 * 10**6

_ACTIVE = (AlarmState.UNACKNOWLEDGED, AlarmState.ACKNOWLEDGED)


@dataclass(frozen=True, slots=True)
class LastState:
    """An alarm's state after its latest journal entry, and when its occurrence was
    raised (None: no occurrence)."""

    alarm: str
    state: AlarmState
    raised_at_us: int | None


@dataclass(frozen=True, slots=True)
class Frequent:
    alarm: str
    count: int


@dataclass(frozen=True, slots=True)
class Chattering:
    alarm: str
    most_in_a_minute: int


@dataclass(frozen=True, slots=True)
class Standing:
    alarm: str
    active_s: float
    state: AlarmState


@dataclass(frozen=True, slots=True)
class AlarmKpis:
    since_us: int
    until_us: int
    alarms: int  # raised in the span
    per_10_minutes: float  # the average
    busiest_10_minutes: int  # the most raised in any ten minutes of the span
    flood_s: float  # time with more than FLOOD_ALARMS raised in the ten minutes before
    flood_share: float  # flood_s / the span
    most_frequent: tuple[Frequent, ...]
    chattering: tuple[Chattering, ...]
    standing: tuple[Standing, ...]


def alarm_kpis(
    events: Iterable[AlarmEvent],
    since_us: int,
    until_us: int,
    last_states: Sequence[LastState] = (),
) -> AlarmKpis:
    """The figures of ``events`` (the journal entries between ``since_us`` and
    ``until_us``, any order); ``last_states``: each alarm's latest entry at
    ``until_us``, for the standing alarms (its raise may be older than the span)."""
    span_us = max(1, until_us - since_us)
    raised = sorted(
        (e.at_us, e.alarm)
        for e in events
        if e.event is AlarmEventKind.RAISED and since_us <= e.at_us < until_us
    )
    times = [t for t, _ in raised]
    counts = Counter(a for _, a in raised)
    return AlarmKpis(
        since_us=since_us,
        until_us=until_us,
        alarms=len(raised),
        per_10_minutes=len(raised) * TEN_MINUTES_US / span_us,
        busiest_10_minutes=_most_within(times, TEN_MINUTES_US),
        flood_s=(flood := _flood_us(times, until_us)) / 1e6,
        flood_share=flood / span_us,
        most_frequent=tuple(Frequent(a, n) for a, n in _top(counts, 10)),
        chattering=_chattering(raised),
        standing=_standing(last_states, until_us),
    )


def _top(counts: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _most_within(times: Sequence[int], window_us: int) -> int:
    """The most of the (sorted) ``times`` inside any window of ``window_us``."""
    best, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window_us:
            first += 1
        best = max(best, last - first + 1)
    return best


def _flood_us(times: Sequence[int], until_us: int) -> int:
    """How long more than FLOOD_ALARMS raises lay in the ten minutes before: each raise
    counts from its instant for ten minutes (a sweep over where counts change)."""
    edges = sorted([(t, 1) for t in times] + [(t + TEN_MINUTES_US, -1) for t in times])
    flood, count, since = 0, 0, 0
    for at, step in edges:
        at = min(at, until_us)
        if count > FLOOD_ALARMS:
            flood += at - since
        count += step
        since = at
    return flood


def _chattering(raised: Sequence[tuple[int, str]]) -> tuple[Chattering, ...]:
    per_alarm: dict[str, list[int]] = defaultdict(list)
    for t, a in raised:
        per_alarm[a].append(t)
    found = [
        Chattering(a, n)
        for a, ts in per_alarm.items()
        if (n := _most_within(ts, CHATTER_WINDOW_US)) >= CHATTER_ALARMS
    ]
    return tuple(sorted(found, key=lambda c: (-c.most_in_a_minute, c.alarm)))


def _standing(last_states: Sequence[LastState], until_us: int) -> tuple[Standing, ...]:
    """Alarms still active at ``until_us`` whose occurrence was raised a day before."""
    found = []
    for e in last_states:
        if e.state not in _ACTIVE or e.raised_at_us is None:
            continue
        active_us = until_us - e.raised_at_us
        if active_us >= STANDING_US:
            found.append(Standing(e.alarm, active_us / 1e6, e.state))
    return tuple(sorted(found, key=lambda s: (-s.active_s, s.alarm)))
