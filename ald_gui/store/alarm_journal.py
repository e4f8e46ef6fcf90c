"""The alarm journal read back (``alarm_events``, through the reader role): the entries
of a span and each alarm's latest state, for the KPI report (domain.alarm_kpis)."""

from __future__ import annotations

from typing import Any

import psycopg

from ald_gui.domain.alarm_kpis import AlarmKpis, LastState, alarm_kpis
from ald_gui.domain.alarms import AlarmEvent, AlarmEventKind, AlarmState, Priority
from ald_gui.store.db import db_timestamp

_SPAN = """
SELECT seq, (extract(epoch FROM at) * 1000000)::bigint, alarm, event, state, priority,
       occurrence, run_id, value, operator, note,
       (extract(epoch FROM until_at) * 1000000)::bigint
FROM alarm_events
WHERE machine = %s AND at >= %s AND at < %s
ORDER BY seq
"""
# Each alarm's latest entry, with the raise of the occurrence it belongs to.
_LAST = """
SELECT DISTINCT ON (l.alarm) l.alarm, l.state,
       (SELECT (extract(epoch FROM min(r.at)) * 1000000)::bigint FROM alarm_events r
        WHERE r.machine = l.machine AND r.occurrence = l.occurrence AND r.event = 'raised')
FROM alarm_events l
WHERE l.machine = %s AND l.at < %s
ORDER BY l.alarm, l.seq DESC
"""


def journal_span(
    conn: psycopg.Connection[Any], machine: str, since_us: int, until_us: int
) -> list[AlarmEvent]:
    """The entries of ``machine`` from ``since_us`` to before ``until_us``, in order."""
    rows = conn.execute(_SPAN, (machine, db_timestamp(since_us), db_timestamp(until_us)))
    return [
        AlarmEvent(
            seq=r[0],
            at_us=r[1],
            alarm=r[2],
            event=AlarmEventKind(r[3]),
            state=AlarmState(r[4]),
            priority=Priority(r[5]),
            occurrence=r[6],
            run_id=r[7],
            value=r[8],
            operator=r[9],
            note=r[10],
            until_us=r[11],
        )
        for r in rows.fetchall()
    ]


def last_states(conn: psycopg.Connection[Any], machine: str, until_us: int) -> list[LastState]:
    rows = conn.execute(_LAST, (machine, db_timestamp(until_us))).fetchall()
    return [LastState(r[0], AlarmState(r[1]), r[2]) for r in rows]


def report(dsn: str, machine: str, since_us: int, until_us: int) -> AlarmKpis:
    """The KPI figures of ``machine`` between the two times, read through ``dsn``."""
    with psycopg.connect(dsn) as conn:
        events = journal_span(conn, machine, since_us, until_us)
        states = last_states(conn, machine, until_us)
    return alarm_kpis(events, since_us, until_us, states)
