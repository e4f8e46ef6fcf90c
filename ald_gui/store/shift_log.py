"""The last shift, as the record has it: what the event log shows when a console starts.

Everything the log shows that matters afterwards is already a record of the stream:
runs started and ended (``process_executions``), PLC outages (``plc_gaps``), alarm
transitions (``alarm_events``), refused writes (``refusals``) and every action with
who did it and the value before and after (``audit_entries``: writes, logins, run
commands, alarm actions). So the log is kept by reading those back, under the reader
role, from a worker thread; nothing is recorded twice. Queries only.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ald_gui.domain.alarms import AlarmEvent
from ald_gui.domain.audit import AuditEntry
from ald_gui.domain.refusal import Refusal
from ald_gui.domain.stream import Gap, Run, RunEnded, RunStarted, RunStatus
from ald_gui.store.alarm_journal import journal_span
from ald_gui.store.audit_trail import AuditFilter, find_entries
from ald_gui.store.db import db_timestamp

ShiftRecord = RunStarted | RunEnded | Gap | AlarmEvent | Refusal | AuditEntry

_US = "(extract(epoch FROM {}) * 1000000)::bigint"

_RUNS = f"""
SELECT id, operator, note, recipe_name, {_US.format("started_at")},
       {_US.format("ended_at")}, status, reason
FROM process_executions
WHERE machine = %(machine)s
  AND (started_at >= %(since)s AND started_at < %(until)s
       OR ended_at >= %(since)s AND ended_at < %(until)s)
"""
_GAPS = f"""
SELECT {_US.format("at")}, reason, run_id FROM plc_gaps
WHERE machine = %(machine)s AND at >= %(since)s AND at < %(until)s
"""
_REFUSALS = f"""
SELECT seq, {_US.format("at")}, rule, tag, value, reason, run_id FROM refusals
WHERE machine = %(machine)s AND at >= %(since)s AND at < %(until)s
"""


def _at_us(record: ShiftRecord) -> int:
    match record:
        case RunStarted(run=run):
            return run.started_at_us
        case RunEnded(ended_at_us=ended):
            return ended
    return record.at_us


def _shown_elsewhere(entry: AuditEntry) -> bool:
    """An audit entry whose event the log shows from its own record already: a run's
    start or end (its run record), an alarm action (its alarm journal entry)."""
    done = not entry.action.endswith("refused")
    return done and (
        entry.action in ("run start", "run stop", "run abort") or entry.action.startswith("alarm ")
    )


def shift_records(
    conn: psycopg.Connection[Any], machine: str, since_us: int, until_us: int, limit: int
) -> list[ShiftRecord]:
    """``machine``'s records from ``since_us`` to before ``until_us``, oldest first;
    the newest ``limit`` of them when there are more."""
    span = {"machine": machine, "since": db_timestamp(since_us), "until": db_timestamp(until_us)}
    found: list[ShiftRecord] = []
    for rid, operator, note, recipe, started, ended, status, reason in conn.execute(
        _RUNS, span
    ).fetchall():
        if since_us <= started < until_us:
            run = Run(rid, machine, operator, started, note=note, recipe=recipe)
            found.append(RunStarted(0, run))
        if ended is not None and since_us <= ended < until_us:
            found.append(RunEnded(0, rid, ended, RunStatus(status), reason))
    found.extend(Gap(0, at, reason, run_id) for at, reason, run_id in conn.execute(_GAPS, span))
    found.extend(Refusal(*row) for row in conn.execute(_REFUSALS, span).fetchall())
    found.extend(journal_span(conn, machine, since_us, until_us))
    trail = AuditFilter(machine=machine, since_us=since_us, until_us=until_us, limit=None)
    found.extend(
        record.entry for record in find_entries(conn, trail) if not _shown_elsewhere(record.entry)
    )
    found.sort(key=_at_us)
    return found[-limit:]
