"""A run's curves from the database, and one run overlaid on another: what the run page
asks its reader thread for. Queries and numpy only, through whatever connection the
caller gives (the reader role's, on a worker thread).

A run's curve is its tag's history over the run's interval (its start to its end, or to
now while it runs), as the historian's samples of that span.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

from ald_gui.domain.overlay import Curve, aligned, difference
from ald_gui.domain.run_alignment import Alignment, anchor_us
from ald_gui.domain.stream import now_us
from ald_gui.store.db import db_timestamp
from ald_gui.store.run_history import RunRecord, RunSummary, run_record

__all__ = ["Overlay", "TagInfo", "TagSeries", "overlay", "recorded_tags", "run_curves"]


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A recorded tag; ``plotted``: the configuration plots it on the live trends."""

    key: str
    component: str
    name: str
    unit: str
    plotted: bool

    @property
    def label(self) -> str:
        """As the operator reads it: "Heater 1 temperature read [°C]"."""
        return f"{self.component} {self.name}" + (f" [{self.unit}]" if self.unit else "")


@dataclass(frozen=True, slots=True)
class TagSeries:
    """One tag's samples: stream times and values, in time order."""

    key: str
    t_us: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Overlay:
    """``run`` and ``reference`` on seconds from their own anchor (``alignment``), and
    ``difference`` (run minus reference) on the run's time base."""

    key: str
    alignment: Alignment
    run: RunSummary
    reference: RunSummary
    run_anchor_us: int
    reference_anchor_us: int
    run_curve: Curve
    reference_curve: Curve
    difference: Curve


def recorded_tags(conn: psycopg.Connection[Any], machine: str) -> list[TagInfo]:
    """The polled tags of ``machine``: the plotted ones first, each part in the order
    the tags were defined."""
    rows = conn.execute(
        "SELECT key, component, name, unit, plotted FROM parameters WHERE machine = %s AND polled "
        "ORDER BY NOT plotted, id",
        (machine,),
    ).fetchall()
    return [TagInfo(*r) for r in rows]


_SAMPLES = """
SELECT (extract(epoch FROM h.sampled_at) * 1000000)::bigint, h.value
FROM parameter_value_history h
WHERE h.parameter_id = (SELECT id FROM parameters WHERE machine = %s AND key = %s)
  AND h.sampled_at >= %s AND h.sampled_at <= %s
ORDER BY h.sampled_at
"""


def _span(run: RunSummary) -> tuple[int, int]:
    return run.started_us, run.ended_us if run.ended_us is not None else now_us()


def _series(
    conn: psycopg.Connection[Any], machine: str, key: str, span: tuple[int, int]
) -> TagSeries:
    rows = conn.execute(
        _SAMPLES, (machine, key, db_timestamp(span[0]), db_timestamp(span[1]))
    ).fetchall()
    t = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    v = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    return TagSeries(key, t, v)


def run_curves(
    conn: psycopg.Connection[Any], run: RunSummary, keys: Sequence[str]
) -> dict[str, TagSeries]:
    """Each of ``keys``' samples over ``run``'s interval."""
    span = _span(run)
    return {key: _series(conn, run.machine, key, span) for key in keys}


def overlay(
    conn: psycopg.Connection[Any],
    run_id: uuid.UUID,
    reference_id: uuid.UUID,
    key: str,
    alignment: Alignment,
) -> Overlay:
    """Run ``run_id``'s ``key`` over run ``reference_id``'s, both aligned on
    ``alignment``. Raises NoAnchor (a ValueError) naming the run that lacks the cycle
    or step, RunNotFound if either run is not there."""
    records: list[RunRecord] = [run_record(conn, run_id), run_record(conn, reference_id)]
    curves, anchors = [], []
    for record, which in zip(records, ("the run", "the reference"), strict=True):
        s = record.summary
        try:
            anchor = anchor_us(s.started_us, record.steps, alignment)
        except ValueError as exc:
            raise type(exc)(f"{which} ({str(s.id)[:8]}): {exc}") from None
        series = _series(conn, s.machine, key, _span(s))
        curves.append(aligned(series.t_us, series.values, anchor))
        anchors.append(anchor)
    return Overlay(
        key, alignment, records[0].summary, records[1].summary, anchors[0], anchors[1],
        curves[0], curves[1], difference(curves[0], curves[1]),
    )  # fmt: skip
