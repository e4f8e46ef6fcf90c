"""What a run's one-page report shows, read through the reader role: the run's record
(store.run_history: metadata, recipe, steps, alarms), its gaps and refused writes, and
the curves of its key tags as min/max envelopes of a few hundred columns, computed in
SQL so an eight-hour run costs a few hundred rows a tag.

Queries only; blocks for as long as they run: call it from a worker thread or a command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from ald_gui.store.db import db_timestamp
from ald_gui.store.run_history import RunRecord, find_run_id, run_record

__all__ = ["Curve", "Gap", "Refused", "ReportData", "report_data"]

_US = "(extract(epoch FROM {}) * 1000000)::bigint"
# The tags a report plots when none are named: the chamber's pressures and temperatures
# (by their key's last part), one plot per unit.
KEY_ENDINGS = (".pressure_read", ".temperature_read")
MAX_CURVES = 8
_SHOWN = 50  # gaps and refusals listed one by one; the rest are counted


@dataclass(frozen=True, slots=True)
class Curve:
    """One tag over the run: per column of ``width_us`` from the run's start, the
    column's start and its lowest and highest value (columns without data left out)."""

    tag: str
    unit: str
    at_us: tuple[int, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Gap:
    at_us: int
    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    at_us: int
    rule: str
    tag: str
    value: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class ReportData:
    """A run's report: ``gaps`` and ``refusals`` hold the first ``_SHOWN`` of each,
    ``gap_count`` and ``refusal_count`` all of them."""

    record: RunRecord
    curves: tuple[Curve, ...]
    gaps: tuple[Gap, ...]
    gap_count: int
    refusals: tuple[Refused, ...]
    refusal_count: int
    end_us: int  # the run's end, or the database's now for a run still open


_ENVELOPE = f"""
SELECT (({_US.format("d.sampled_at")} - %(start)s) / %(width)s) AS col,
       min(d.value), max(d.value)
FROM process_data_points d
WHERE d.run_id = %(run)s AND d.parameter_id = %(parameter)s
GROUP BY col ORDER BY col
"""


def _curves(
    conn: psycopg.Connection[Any], record: RunRecord, tags: Sequence[str], end_us: int,
    columns: int,
) -> list[Curve]:  # fmt: skip
    run = record.summary
    known = conn.execute(
        "SELECT id, key, unit FROM parameters WHERE machine = %s ORDER BY id", (run.machine,)
    ).fetchall()
    chosen = (
        [k for k in known if k[1] in tags]
        if tags
        else [k for k in known if k[1].endswith(KEY_ENDINGS)]
    )
    start = run.started_us
    width = max(1, (end_us - start) // columns + 1)
    curves = []
    for pid, key, unit in chosen:
        rows = conn.execute(
            _ENVELOPE, {"start": start, "width": width, "run": run.id, "parameter": pid}
        ).fetchall()
        if rows:
            curves.append(Curve(
                key, unit, tuple(start + c * width for c, _, _ in rows),
                tuple(lo for _, lo, _ in rows), tuple(hi for _, _, hi in rows),
            ))  # fmt: skip
        if len(curves) == MAX_CURVES:
            break
    return curves


def report_data(
    conn: psycopg.Connection[Any], run: str, tags: Sequence[str] = (), columns: int = 600
) -> ReportData:
    """The report of the run ``run`` names (its id or its first characters), with the
    curves of ``tags`` (default: KEY_ENDINGS). Raises run_history.RunNotFound."""
    record = run_record(conn, find_run_id(conn, run))
    run_id, summary = record.summary.id, record.summary
    row = conn.execute(f"SELECT {_US.format('now()')}").fetchone()
    assert row is not None
    end_us = summary.ended_us if summary.ended_us is not None else int(row[0])
    # plc_gaps is indexed by (machine, at): the run's interval finds its gaps.
    span = "machine = %(machine)s AND at >= %(start)s AND at <= %(end)s AND run_id = %(run)s"
    where = {
        "machine": summary.machine, "run": run_id,
        "start": db_timestamp(summary.started_us), "end": db_timestamp(end_us),
    }  # fmt: skip
    gaps = conn.execute(
        f"SELECT {_US.format('at')}, reason FROM plc_gaps WHERE {span} ORDER BY at LIMIT {_SHOWN}",
        where,
    ).fetchall()
    gap_count = conn.execute(f"SELECT count(*) FROM plc_gaps WHERE {span}", where).fetchone()
    refusals = conn.execute(
        f"SELECT {_US.format('at')}, rule, tag, value, reason FROM refusals WHERE run_id = %s "
        f"ORDER BY seq LIMIT {_SHOWN}",
        (run_id,),
    ).fetchall()
    refusal_count = conn.execute(
        "SELECT count(*) FROM refusals WHERE run_id = %s", (run_id,)
    ).fetchone()
    assert gap_count is not None and refusal_count is not None
    return ReportData(
        record,
        tuple(_curves(conn, record, tags, end_us, columns)),
        tuple(Gap(*g) for g in gaps),
        int(gap_count[0]),
        tuple(Refused(*r) for r in refusals),
        int(refusal_count[0]),
        end_us,
    )
