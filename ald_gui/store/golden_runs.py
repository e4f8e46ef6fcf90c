"""The golden run of each recipe (``golden_runs``, migration 0011): marked and unmarked
through the writer role, read through the reader role.

A marking is appended, never changed; the latest marking of a machine's recipe wins,
and an unmarking (no run) is a marking too. The database refuses a golden run that is
not a completed run of that recipe on that machine; ``mark_golden`` says so first, in
words, naming the run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from ald_gui.domain.stream import RunStatus

__all__ = ["GoldenMark", "GoldenRefused", "golden_run", "mark_golden", "markings"]

_US = "(extract(epoch FROM marked_at) * 1000000)::bigint"


class GoldenRefused(ValueError):
    """The run cannot be (un)marked golden: it has no recipe, did not complete, or is
    not there. Says which run and why."""


@dataclass(frozen=True, slots=True)
class GoldenMark:
    """One marking: ``run_id`` None is an unmarking."""

    machine: str
    recipe: str
    run_id: uuid.UUID | None
    marked_by: str
    marked_us: int
    note: str


def _mark(row: tuple[Any, ...]) -> GoldenMark:
    return GoldenMark(row[0], row[1], row[2], row[3], row[4], row[5])


def mark_golden(
    conn: psycopg.Connection[Any], run_id: uuid.UUID, by: str, *, unmark: bool = False,
    note: str = "",
) -> GoldenMark:  # fmt: skip
    """Make ``run_id`` the golden run of its recipe on its machine (``unmark``: leave
    that recipe without one, if ``run_id`` is its golden run now), as ``by``; committed
    before it returns. Raises GoldenRefused naming why it cannot."""
    if not by.strip():
        raise GoldenRefused("a golden run is marked by someone: give a name")
    row = conn.execute(
        "SELECT machine, recipe_name, status FROM process_executions WHERE id = %s", (run_id,)
    ).fetchone()
    if row is None:
        raise GoldenRefused(f"run {run_id}: no such run in this database")
    machine, recipe, status = row
    if not recipe:
        raise GoldenRefused(f"run {run_id} ran no recipe: only a recipe's run can be golden")
    if unmark:
        if golden_run(conn, machine, recipe) != run_id:
            raise GoldenRefused(
                f"run {run_id} is not the golden run of {recipe!r}: nothing to unmark"
            )
    elif status != RunStatus.COMPLETED:
        raise GoldenRefused(
            f"run {run_id} ended {status}, not completed: only a completed run can be golden"
        )
    inserted = conn.execute(
        f"INSERT INTO golden_runs (machine, recipe_name, run_id, marked_by, note) "
        f"VALUES (%s, %s, %s, %s, %s) "
        f"RETURNING machine, recipe_name, run_id, marked_by, {_US}, note",
        (machine, recipe, None if unmark else run_id, by.strip(), note),
    ).fetchone()
    conn.commit()
    assert inserted is not None
    return _mark(inserted)


def golden_run(conn: psycopg.Connection[Any], machine: str, recipe: str) -> uuid.UUID | None:
    """The golden run of ``recipe`` on ``machine`` now (None: none, or unmarked)."""
    row = conn.execute(
        "SELECT run_id FROM golden_runs WHERE machine = %s AND recipe_name = %s "
        "ORDER BY id DESC LIMIT 1",
        (machine, recipe),
    ).fetchone()
    return None if row is None else row[0]


def markings(conn: psycopg.Connection[Any], machine: str, recipe: str) -> list[GoldenMark]:
    """Every marking of ``recipe`` on ``machine``, oldest first."""
    rows = conn.execute(
        f"SELECT machine, recipe_name, run_id, marked_by, {_US}, note FROM golden_runs "
        "WHERE machine = %s AND recipe_name = %s ORDER BY id",
        (machine, recipe),
    ).fetchall()
    return [_mark(r) for r in rows]
