"""AlarmEvent: one entry of the alarm journal (``alarm_events``, migration 0006).

Recorded once (the table's key is the machine and the item's seq), counted by the
ledger's ``alarm_rows``, and refused by name when the run it names never started on the
group's machine: an entry made during a run belongs to it (invariant 8).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from ald_gui.domain.alarms import AlarmEvent, AlarmEventKind, AlarmState, Priority
from ald_gui.store.db import db_timestamp
from ald_gui.store.kinds import json_body
from ald_gui.store.kinds.base import (
    Check,
    Figure,
    Group,
    KeySet,
    KeySetId,
    LedgerCount,
    StreamKind,
)
from ald_gui.store.kinds.record_rules import (
    require_started_runs,
    stored_once_and_in_its_transaction,
)

_INSERT = """
INSERT INTO alarm_events (machine, seq, at, alarm, event, state, priority, occurrence,
                          run_id, value, operator, note, until_at, transaction_id)
VALUES (%(machine)s, %(seq)s, %(at)s, %(alarm)s, %(event)s, %(state)s, %(priority)s,
        %(occurrence)s, %(run_id)s, %(value)s, %(operator)s, %(note)s, %(until_at)s, %(tx)s)
"""


def _uuid(text: str | None) -> uuid.UUID | None:
    return uuid.UUID(text) if text else None


def _encode(item: AlarmEvent, _: KeySetId) -> tuple[int, int, bytes]:
    body = json_body.dump({
        "seq": item.seq, "at_us": item.at_us, "alarm": item.alarm, "event": item.event.value,
        "state": item.state.value, "priority": int(item.priority),
        "occurrence": str(item.occurrence) if item.occurrence else None,
        "run_id": str(item.run_id) if item.run_id else None, "value": item.value,
        "operator": item.operator, "note": item.note, "until_us": item.until_us,
    })  # fmt: skip
    return item.at_us, 0, body


def _decode(body: bytes, _: KeySet) -> AlarmEvent:
    f = json_body.load(body)
    return AlarmEvent(
        seq=f["seq"],
        at_us=f["at_us"],
        alarm=f["alarm"],
        event=AlarmEventKind(f["event"]),
        state=AlarmState(f["state"]),
        priority=Priority(f["priority"]),
        occurrence=_uuid(f["occurrence"]),
        run_id=_uuid(f["run_id"]),
        value=f["value"],
        operator=f["operator"],
        note=f["note"],
        until_us=f["until_us"],
    )


def _count(
    items: Sequence[AlarmEvent], parameter_ids: Mapping[str, int], machine: str
) -> tuple[int]:
    return (len(items),)


def _write(items: Sequence[AlarmEvent], group: Group) -> None:
    cur, machine = group.cur, group.machine
    require_started_runs(
        cur, machine, ((e.run_id, f"alarm event {e.alarm} {e.event} (seq {e.seq})") for e in items)
    )
    cur.executemany(
        _INSERT,
        [{"machine": machine, "seq": e.seq, "at": db_timestamp(e.at_us), "alarm": e.alarm,
          "event": e.event.value, "state": e.state.value, "priority": int(e.priority),
          "occurrence": e.occurrence, "run_id": e.run_id, "value": e.value,
          "operator": e.operator, "note": e.note,
          "until_at": db_timestamp(e.until_us) if e.until_us is not None else None,
          "tx": group.transaction_id} for e in items],
    )  # fmt: skip


_CHECKS = (
    # An entry naming a run lies inside it; recorded once; inside its ledger row's range.
    Check(
        8,
        "alarm event outside its run's interval",
        """
        SELECT a.run_id, a.seq, a.alarm, a.event, a.at, r.started_at AS run_started_at,
               r.ended_at AS run_ended_at, count(*) OVER () AS total
        FROM alarm_events a JOIN process_executions r ON r.id = a.run_id
        WHERE a.machine = %(machine)s
          AND NOT (a.at >= r.started_at AND a.at <= coalesce(r.ended_at, 'infinity')
                   AND r.machine = a.machine)
        ORDER BY a.seq LIMIT %(limit)s""",
    ),
    *stored_once_and_in_its_transaction("alarm_events", "alarm event", "alarm"),
)

KIND = StreamKind(
    number=6, item=AlarmEvent, encode=_encode, decode=_decode, count=_count, write=_write,
    ledger=(LedgerCount("alarm_rows", "alarm_events"),),
    figures=(Figure("alarm_events", "alarm events",
                    "SELECT count(*) FROM alarm_events WHERE machine = %(machine)s"),),
    checks=_CHECKS,
    last_in_run="SELECT max(a.at) FROM alarm_events a WHERE a.run_id = r.id",
)  # fmt: skip
