"""The historian's invariants 1-4, 7 and 8 (README, "Invariants"), checked in SQL for
``ald-gui doctor``.

Each check counts the rows breaking a rule and keeps a few of them as examples; beside
them, what was checked is counted, so a clean result says how much data it covers. All
checks of one call read the same snapshot (one repeatable-read, read-only transaction),
so a writer committing meanwhile cannot produce a false alarm. They scan whole tables:
run them on demand, not on every commit. Invariants 5 and 6 (nothing handed to the
writer is lost; the schedule never waits on the database) are properties of the running
console, tested by the fault tests, not of stored rows. Invariant 8 covers the recipe
steps (``run_steps``) so far.

The rules and the figures are the stream kinds' (:mod:`ald_gui.store.kinds`, each
kind's own); this module runs them, and checks the ledger's counts for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ald_gui.store.db import require_idle
from ald_gui.store.kinds import KINDS
from ald_gui.store.kinds.base import Check, Figure


@dataclass(frozen=True)
class Violation:
    """``count`` rows (or groups) break ``rule`` of invariant ``invariant``."""

    invariant: int
    rule: str
    count: int
    examples: tuple[dict[str, str], ...]

    def __str__(self) -> str:
        example = f"; e.g. {self.examples[0]}" if self.examples else ""
        return f"invariant {self.invariant}: {self.count} × {self.rule}{example}"


@dataclass(frozen=True)
class Checked:
    """How much of ``machine``'s data a check covered: each figure's name (as in
    ``--json``), its words and its count, every kind's (store.kinds) and the ledger's."""

    counts: tuple[tuple[str, str, int], ...]

    def __str__(self) -> str:
        return ", ".join(f"{n} {label}" for _, label, n in self.counts)

    def figures(self) -> dict[str, int]:
        return {name: n for name, _, n in self.counts}


@dataclass(frozen=True)
class DataCheck:
    """The result of one check of the stored data: what broke, and what was looked at."""

    violations: list[Violation]
    checked: Checked


def _ledger_check() -> Check:
    """Invariant 3 for every kind with rows in the ledger: each count of a ledger row
    equals the rows of its table under that transaction id, with those retention
    dropped."""
    counts = [c for k in KINDS for c in k.ledger]
    # Rows retention dropped (store.retention) count as found: their ledger rows stay.
    ctes = ",\n     ".join(
        f"c{i} AS (SELECT transaction_id, sum(n) AS n FROM ("
        f"SELECT transaction_id, count(*) AS n FROM {c.table} GROUP BY transaction_id"
        " UNION ALL SELECT l.transaction_id, l.rows_dropped FROM retention_ledger l"
        f" JOIN retention_drops d ON d.id = l.drop_id AND d.table_name = '{c.table}'"
        ") found GROUP BY transaction_id)"
        for i, c in enumerate(counts)
    )
    shown = ", ".join(
        f"w.{c.column}, coalesce(c{i}.n, 0) AS {c.column}_found" for i, c in enumerate(counts)
    )
    joins = " ".join(f"LEFT JOIN c{i} USING (transaction_id)" for i in range(len(counts)))
    ledger = ", ".join(f"w.{c.column}" for c in counts)
    found = ", ".join(f"coalesce(c{i}.n, 0)" for i in range(len(counts)))
    return Check(
        3,
        "ledger row whose counts differ from the rows of its transaction",
        f"""
        WITH {ctes}
        SELECT w.transaction_id, w.committed_at, {shown}, count(*) OVER () AS total
        FROM write_transactions w {joins}
        WHERE w.machine = %(machine)s AND ({ledger}) IS DISTINCT FROM ({found})
        ORDER BY w.committed_at LIMIT %(limit)s""",
    )


# Every kind's rules, by invariant (the ledger's first within 3).
_CHECKS: tuple[Check, ...] = tuple(
    sorted((_ledger_check(), *(c for k in KINDS for c in k.checks)), key=lambda c: c.invariant)
)
_FIGURES: tuple[Figure, ...] = (
    *(f for k in KINDS for f in k.figures),
    Figure("transactions", "transactions",
           "SELECT count(*) FROM write_transactions WHERE machine = %(machine)s"),
)  # fmt: skip
_COUNTS = "SELECT " + ", ".join(f"({f.query}) AS {f.name}" for f in _FIGURES)


def check_invariants(
    conn: psycopg.Connection[Any], machine: str, *, examples: int = 5
) -> list[Violation]:
    """Every broken rule of invariants 1-4, 7 and 8 for ``machine`` ([] when the data is
    whole), with up to ``examples`` offending rows each. Read-only; blocks for the
    duration of the scans. ``conn`` must be outside any transaction."""
    return check_data(conn, machine, examples=examples).violations


def check_data(conn: psycopg.Connection[Any], machine: str, *, examples: int = 5) -> DataCheck:
    """check_invariants, together with the counts of what was checked, from one snapshot."""
    require_idle(conn, "an invariant check")
    result = []
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute(_COUNTS, {"machine": machine})
        counts = cur.fetchone()
        assert counts is not None  # an aggregate always has a row
        checked = Checked(tuple((f.name, f.label, int(counts[f.name])) for f in _FIGURES))
        for check in _CHECKS:
            cur.execute(check.query, {"machine": machine, "limit": examples})
            rows = cur.fetchall()
            if rows:
                total = int(rows[0]["total"])
                shown = tuple({k: str(v) for k, v in row.items() if k != "total"} for row in rows)
                result.append(Violation(check.invariant, check.rule, total, shown))
    return DataCheck(result, checked)
