"""A run's curves from the database, and one run overlaid on another: what the run page
asks its reader thread for. Queries and numpy only, through whatever connection the
caller gives (the reader role's, on a worker thread).

A run's curve is its tag's history over the run's interval (its start to its end, or to
now while it runs), as store.history gives it for the plot's width: every sample of a
short run, the M4 reduction of a long one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from ald_gui.domain.overlay import Curve, aligned, difference
from ald_gui.domain.run_alignment import Alignment, anchor_us
from ald_gui.domain.stream import now_us
from ald_gui.store.history import Series, fetch_many, fetch_series
from ald_gui.store.run_history import RunRecord, RunSummary, run_record

__all__ = ["Overlay", "TagInfo", "overlay", "recorded_tags", "run_curves"]


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


def _span(run: RunSummary) -> tuple[int, int]:
    """The run's interval as history's half-open span: a sample stamped at the run's
    very end is the run's too."""
    end = run.ended_us if run.ended_us is not None else now_us()
    return run.started_us, max(end, run.started_us) + 1


def run_curves(
    conn: psycopg.Connection[Any], run: RunSummary, keys: Sequence[str], width_px: int
) -> dict[str, Series]:
    """Each of ``keys``' history over ``run``'s interval for a plot ``width_px`` wide
    (store.history: the raw rows, or M4 for a long run). Raises UnknownTag (a
    LookupError) for a tag the run's machine does not have."""
    start, end = _span(run)
    return fetch_many(conn, run.machine, keys, start, end, width_px)


def overlay(
    conn: psycopg.Connection[Any],
    run_id: uuid.UUID,
    reference_id: uuid.UUID,
    key: str,
    alignment: Alignment,
    width_px: int,
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
        series = fetch_series(conn, s.machine, key, *_span(s), width_px)
        curves.append(aligned(series.t_us, series.values, anchor))
        anchors.append(anchor)
    return Overlay(
        key, alignment, records[0].summary, records[1].summary, anchors[0], anchors[1],
        curves[0], curves[1], difference(curves[0], curves[1]),
    )  # fmt: skip
