"""What the alarm history asks for (time span, priority, tag, run) and the journal
entries that answer it. The database gives the span (store.alarm_journal); the rest is
judged here, on the reader's thread, against the configured alarms (a tag belongs to
the alarms defined on it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ald_gui.domain.alarms import AlarmEvent, Priority

__all__ = ["HistoryQuery", "matching"]

SYSTEM = "(system)"  # the tag filter's word for alarms without a tag


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Entries from ``since_us`` to before ``until_us``; ``priority``: this and above
    (None: any); ``tag``: alarms defined on it, or SYSTEM for the system alarms ("" any);
    ``run``: a run id or its first characters ("" any)."""

    since_us: int
    until_us: int
    priority: Priority | None = None
    tag: str = ""
    run: str = ""


def matching(
    query: HistoryQuery, events: Iterable[AlarmEvent], tags: Mapping[str, str]
) -> list[AlarmEvent]:
    """The entries of ``events`` that ``query`` asks for, newest first. ``tags``: each
    configured alarm's tag ("" for a system alarm)."""
    run = query.run.strip().lower()
    wanted = SYSTEM if query.tag == SYSTEM else query.tag
    found = [
        e
        for e in events
        if (query.priority is None or e.priority >= query.priority)
        and (not wanted or (tags.get(e.alarm, "") or SYSTEM) == wanted)
        and (not run or (e.run_id is not None and str(e.run_id).startswith(run)))
    ]
    found.sort(key=lambda e: e.seq, reverse=True)
    return found
