"""Past runs read back (through the reader role): the runs list with its filters and
pages, and one run's record (metadata, recipe snapshot, recipe steps, alarm entries).

Queries only; every function takes a connection the caller opened (on a worker thread
in the window, once in a command) and blocks for as long as the query runs. Times are
stream times (integer microseconds since the epoch), as everywhere in the store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from ald_gui.domain.alarms import AlarmEvent, AlarmEventKind, AlarmState, Priority
from ald_gui.domain.stream import RunStatus, StepRecord
from ald_gui.store.db import db_timestamp

__all__ = [
    "RunChoices",
    "RunFilter",
    "RunNotFound",
    "RunRecord",
    "RunSummary",
    "choices",
    "count_runs",
    "find_run_id",
    "list_runs",
    "run_record",
]

_US = "(extract(epoch FROM {}) * 1000000)::bigint"

# One row of the list. The counts look up by run (alarm_events_run, refusals_run) or,
# for gaps, whose only index is (machine, at), by the run's interval first.
_SUMMARY = f"""
SELECT r.id, r.machine, {_US.format("r.started_at")}, {_US.format("r.ended_at")},
       r.operator, r.note, r.recipe_name, r.recipe_version, r.status, r.reason,
       (SELECT count(*) FROM alarm_events a WHERE a.run_id = r.id AND a.event = 'raised'),
       (SELECT count(*) FROM plc_gaps g
        WHERE g.machine = r.machine AND g.at >= r.started_at
          AND g.at <= coalesce(r.ended_at, 'infinity') AND g.run_id = r.id),
       (SELECT count(*) FROM refusals f WHERE f.run_id = r.id)
FROM process_executions r
"""


class RunNotFound(LookupError):
    """No run has the id (or the id's first characters) asked for."""


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs to list: every field narrows ("" and None: any). ``since_us`` and
    ``until_us`` bound the start of the run; ``text`` is searched in the note and the
    reason, ignoring case. Newest first, ``limit`` at a time from ``offset``."""

    machine: str = ""
    since_us: int | None = None
    until_us: int | None = None
    status: RunStatus | None = None
    recipe: str = ""
    operator: str = ""
    text: str = ""
    limit: int = 100
    offset: int = 0

    def page(self, offset: int) -> RunFilter:
        return RunFilter(
            self.machine, self.since_us, self.until_us, self.status, self.recipe,
            self.operator, self.text, self.limit, max(0, offset),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run as the list shows it. ``ended_us`` None: still running (or its console
    died and has not started since). ``alarms``: alarms raised during it."""

    id: uuid.UUID
    machine: str
    started_us: int
    ended_us: int | None
    operator: str
    note: str
    recipe: str
    recipe_version: int | None
    status: RunStatus
    reason: str
    alarms: int
    gaps: int
    refusals: int

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_us is None else (self.ended_us - self.started_us) / 1e6


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run in full: its summary, the recipe it ran (its SHA-256 and the snapshot as
    JSON, both "" for a run without a recipe), its recipe steps in the order they
    started, and its alarm journal entries in order."""

    summary: RunSummary
    recipe_sha256: str
    recipe_snapshot: str
    steps: tuple[StepRecord, ...]
    alarms: tuple[AlarmEvent, ...]


@dataclass(frozen=True, slots=True)
class RunChoices:
    """What the list's filters can choose from: the machines, recipes and operators
    that have runs, sorted."""

    machines: tuple[str, ...]
    recipes: tuple[str, ...]
    operators: tuple[str, ...]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: RunFilter) -> tuple[str, dict[str, Any]]:
    parts, args = [], dict[str, Any]()
    if f.machine:
        parts.append("r.machine = %(machine)s")
        args["machine"] = f.machine
    if f.since_us is not None:
        parts.append("r.started_at >= %(since)s")
        args["since"] = db_timestamp(f.since_us)
    if f.until_us is not None:
        parts.append("r.started_at < %(until)s")
        args["until"] = db_timestamp(f.until_us)
    if f.status is not None:
        parts.append("r.status = %(status)s")
        args["status"] = f.status.value
    if f.recipe:
        parts.append("r.recipe_name = %(recipe)s")
        args["recipe"] = f.recipe
    if f.operator:
        parts.append("r.operator = %(operator)s")
        args["operator"] = f.operator
    if f.text.strip():
        parts.append("(r.note ILIKE %(text)s OR r.reason ILIKE %(text)s)")
        args["text"] = _like(f.text.strip())
    return ("WHERE " + " AND ".join(parts)) if parts else "", args


def _summary(row: tuple[Any, ...]) -> RunSummary:
    return RunSummary(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], RunStatus(row[8]),
        row[9], row[10], row[11], row[12],
    )  # fmt: skip


def list_runs(conn: psycopg.Connection[Any], f: RunFilter) -> list[RunSummary]:
    """The page of runs ``f`` asks for, newest start first."""
    where, args = _where(f)
    args |= {"limit": max(0, f.limit), "offset": max(0, f.offset)}
    query = f"{_SUMMARY} {where} ORDER BY r.started_at DESC, r.id LIMIT %(limit)s OFFSET %(offset)s"
    return [_summary(r) for r in conn.execute(query, args).fetchall()]


def count_runs(conn: psycopg.Connection[Any], f: RunFilter) -> int:
    """How many runs ``f`` matches, all pages together."""
    where, args = _where(f)
    row = conn.execute(f"SELECT count(*) FROM process_executions r {where}", args).fetchone()
    return 0 if row is None else int(row[0])


def choices(conn: psycopg.Connection[Any]) -> RunChoices:
    def distinct(column: str) -> tuple[str, ...]:
        rows = conn.execute(
            f"SELECT DISTINCT {column} FROM process_executions WHERE {column} <> '' ORDER BY 1"
        ).fetchall()
        return tuple(r[0] for r in rows)

    return RunChoices(distinct("machine"), distinct("recipe_name"), distinct("operator"))


def find_run_id(conn: psycopg.Connection[Any], text: str) -> uuid.UUID:
    """The run ``text`` names: its id, or the id's first characters (at least 4, as the
    list shows 8). Raises RunNotFound naming what was asked and why it names no run."""
    wanted = text.strip().lower()
    try:
        return _existing(conn, uuid.UUID(wanted))
    except ValueError:
        pass
    if len(wanted) < 4 or any(c not in "0123456789abcdef-" for c in wanted):
        raise RunNotFound(
            f"run {text!r}: give a run id or at least its first 4 characters (as listed)"
        )
    rows = conn.execute(
        "SELECT id FROM process_executions WHERE id::text LIKE %s ORDER BY started_at LIMIT 2",
        (wanted + "%",),
    ).fetchall()
    if not rows:
        raise RunNotFound(f"run {text!r}: no run's id starts so")
    if len(rows) > 1:
        raise RunNotFound(f"run {text!r}: more than one run's id starts so; give more of it")
    found: uuid.UUID = rows[0][0]
    return found


def _existing(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> uuid.UUID:
    if conn.execute("SELECT 1 FROM process_executions WHERE id = %s", (run_id,)).fetchone():
        return run_id
    raise RunNotFound(f"run {run_id}: no such run in this database")


_STEPS = f"""
SELECT seq, run_id, path, kind, cycles, {_US.format("started_at")}, {_US.format("ended_at")},
       outcome, requested_ms, measured_ms, detail
FROM run_steps WHERE run_id = %s ORDER BY started_at, seq
"""
_ALARMS = f"""
SELECT seq, {_US.format("at")}, alarm, event, state, priority, occurrence, run_id, value,
       operator, note, {_US.format("until_at")}
FROM alarm_events WHERE run_id = %s ORDER BY seq
"""


def run_record(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> RunRecord:
    """The run ``run_id`` in full; raises RunNotFound if there is none."""
    row = conn.execute(f"{_SUMMARY} WHERE r.id = %s", (run_id,)).fetchone()
    if row is None:
        raise RunNotFound(f"run {run_id}: no such run in this database")
    recipe = conn.execute(
        "SELECT recipe_sha256, coalesce(recipe_snapshot::text, '') FROM process_executions "
        "WHERE id = %s",
        (run_id,),
    ).fetchone()
    assert recipe is not None  # the same row as above; runs are never deleted
    steps = tuple(
        StepRecord(s[0], s[1], s[2], s[3], tuple(s[4]), s[5], s[6], s[7], s[8], s[9], s[10])
        for s in conn.execute(_STEPS, (run_id,)).fetchall()
    )
    alarms = tuple(
        AlarmEvent(
            a[0],
            a[1],
            a[2],
            AlarmEventKind(a[3]),
            AlarmState(a[4]),
            Priority(a[5]),
            a[6],
            a[7],
            a[8],
            a[9],
            a[10],
            a[11],
        )
        for a in conn.execute(_ALARMS, (run_id,)).fetchall()
    )
    return RunRecord(_summary(row), recipe[0], recipe[1], steps, alarms)
