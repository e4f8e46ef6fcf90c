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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row

from ald_gui.store.db import require_idle


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
    """How much of ``machine``'s data a check covered."""

    history_rows: int
    run_rows: int
    runs: int
    gaps: int
    steps: int
    transactions: int

    def __str__(self) -> str:
        return (
            f"{self.history_rows} history rows, {self.run_rows} run rows, {self.runs} runs, "
            f"{self.gaps} gaps, {self.steps} recipe steps, {self.transactions} transactions"
        )

    def figures(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class DataCheck:
    """The result of one check of the stored data: what broke, and what was looked at."""

    violations: list[Violation]
    checked: Checked


_COUNTS: LiteralString = """
SELECT (SELECT count(*) FROM parameter_value_history h
        JOIN parameters p ON p.id = h.parameter_id WHERE p.machine = %(machine)s)
           AS history_rows,
       (SELECT count(*) FROM process_data_points d
        JOIN parameters p ON p.id = d.parameter_id WHERE p.machine = %(machine)s)
           AS run_rows,
       (SELECT count(*) FROM process_executions WHERE machine = %(machine)s) AS runs,
       (SELECT count(*) FROM plc_gaps WHERE machine = %(machine)s) AS gaps,
       (SELECT count(*) FROM run_steps WHERE machine = %(machine)s) AS steps,
       (SELECT count(*) FROM write_transactions WHERE machine = %(machine)s) AS transactions
"""

# A sample taken at t belongs to run P exactly when started_at(P) <= t < ended_at(P), an
# unended run reaching to infinity. Each query returns example rows plus `total`.
_CHECKS: tuple[tuple[int, str, LiteralString], ...] = (
    (
        1,
        "run row outside its run's interval",
        """
        SELECT d.run_id, d.parameter_id, d.sampled_at, r.started_at, r.ended_at,
               count(*) OVER () AS total
        FROM process_data_points d JOIN process_executions r ON r.id = d.run_id
        WHERE r.machine = %(machine)s
          AND NOT (d.sampled_at >= r.started_at
                   AND d.sampled_at < coalesce(r.ended_at, 'infinity'))
        ORDER BY d.sampled_at LIMIT %(limit)s""",
    ),
    (
        1,
        "history row inside a run's interval without its run row",
        """
        SELECT r.id AS run_id, h.parameter_id, h.sampled_at, count(*) OVER () AS total
        FROM process_executions r
        JOIN parameters p ON p.machine = r.machine
        JOIN parameter_value_history h
          ON h.parameter_id = p.id AND h.sampled_at >= r.started_at
             AND h.sampled_at < coalesce(r.ended_at, 'infinity')
        WHERE r.machine = %(machine)s
          AND NOT EXISTS (SELECT 1 FROM process_data_points d
                          WHERE d.run_id = r.id AND d.parameter_id = h.parameter_id
                                AND d.sampled_at = h.sampled_at)
        ORDER BY h.sampled_at LIMIT %(limit)s""",
    ),
    (
        1,
        "pair of runs of the machine whose intervals overlap",
        """
        SELECT a.id AS run_id, b.id AS other_run_id, a.started_at, a.ended_at,
               b.started_at AS other_started_at, b.ended_at AS other_ended_at,
               count(*) OVER () AS total
        FROM process_executions a
        JOIN process_executions b ON b.machine = a.machine AND a.id < b.id
        WHERE a.machine = %(machine)s
          AND tstzrange(a.started_at, a.ended_at) && tstzrange(b.started_at, b.ended_at)
        ORDER BY a.started_at LIMIT %(limit)s""",
    ),
    (
        2,
        "run row without a history row of the same tag, time and transaction",
        """
        SELECT d.run_id, d.parameter_id, d.sampled_at, d.transaction_id,
               count(*) OVER () AS total
        FROM process_data_points d JOIN process_executions r ON r.id = d.run_id
        WHERE r.machine = %(machine)s
          AND NOT EXISTS (SELECT 1 FROM parameter_value_history h
                          WHERE h.parameter_id = d.parameter_id
                                AND h.sampled_at = d.sampled_at
                                AND h.transaction_id = d.transaction_id)
        ORDER BY d.sampled_at LIMIT %(limit)s""",
    ),
    (
        2,
        "sample stored more than once in the history",
        """
        SELECT h.parameter_id, h.sampled_at, count(*) AS copies, count(*) OVER () AS total
        FROM parameter_value_history h JOIN parameters p ON p.id = h.parameter_id
        WHERE p.machine = %(machine)s
        GROUP BY h.parameter_id, h.sampled_at HAVING count(*) > 1
        ORDER BY h.sampled_at LIMIT %(limit)s""",
    ),
    (
        2,
        "sample stored more than once for its run",
        """
        SELECT d.run_id, d.parameter_id, d.sampled_at, count(*) AS copies,
               count(*) OVER () AS total
        FROM process_data_points d JOIN process_executions r ON r.id = d.run_id
        WHERE r.machine = %(machine)s
        GROUP BY d.run_id, d.parameter_id, d.sampled_at HAVING count(*) > 1
        ORDER BY d.sampled_at LIMIT %(limit)s""",
    ),
    (
        3,
        "ledger row whose counts differ from the rows of its transaction",
        """
        WITH h AS (SELECT transaction_id, count(*) AS n FROM parameter_value_history
                   GROUP BY transaction_id),
             d AS (SELECT transaction_id, count(*) AS n FROM process_data_points
                   GROUP BY transaction_id),
             g AS (SELECT transaction_id, count(*) AS n FROM plc_gaps GROUP BY transaction_id)
        SELECT w.transaction_id, w.committed_at,
               w.history_rows, coalesce(h.n, 0) AS history_rows_found,
               w.run_rows, coalesce(d.n, 0) AS run_rows_found,
               w.gap_rows, coalesce(g.n, 0) AS gap_rows_found,
               count(*) OVER () AS total
        FROM write_transactions w
        LEFT JOIN h USING (transaction_id)
        LEFT JOIN d USING (transaction_id)
        LEFT JOIN g USING (transaction_id)
        WHERE w.machine = %(machine)s
          AND (w.history_rows, w.run_rows, w.gap_rows)
              IS DISTINCT FROM (coalesce(h.n, 0), coalesce(d.n, 0), coalesce(g.n, 0))
        ORDER BY w.committed_at LIMIT %(limit)s""",
    ),
    # Gaps and runs reference the ledger by foreign key; the sample tables do not
    # (it would slow COPY fourfold), so they are checked here.
    (
        3,
        "transaction with data rows but no ledger row",
        """
        WITH orphans AS (
            SELECT 'parameter_value_history' AS table_name, h.transaction_id,
                   count(*) AS rows_found
            FROM parameter_value_history h JOIN parameters p ON p.id = h.parameter_id
            WHERE p.machine = %(machine)s
              AND NOT EXISTS (SELECT 1 FROM write_transactions w
                              WHERE w.transaction_id = h.transaction_id)
            GROUP BY h.transaction_id
            UNION ALL
            SELECT 'process_data_points', d.transaction_id, count(*)
            FROM process_data_points d JOIN process_executions r ON r.id = d.run_id
            WHERE r.machine = %(machine)s
              AND NOT EXISTS (SELECT 1 FROM write_transactions w
                              WHERE w.transaction_id = d.transaction_id)
            GROUP BY d.transaction_id)
        SELECT *, count(*) OVER () AS total FROM orphans
        ORDER BY table_name, transaction_id LIMIT %(limit)s""",
    ),
    # The foreign key from run rows to runs refuses a data point whose run row is not
    # there, but only while it is enforced: a restore with triggers disabled, a replica
    # role (session_replication_role) or a schema without it stores such points. So it
    # is checked here without relying on the key.
    (
        4,
        "run row whose run has no row",
        """
        SELECT d.run_id, d.parameter_id, d.sampled_at, d.transaction_id,
               count(*) OVER () AS total
        FROM process_data_points d JOIN parameters p ON p.id = d.parameter_id
        WHERE p.machine = %(machine)s
          AND NOT EXISTS (SELECT 1 FROM process_executions r WHERE r.id = d.run_id)
        ORDER BY d.sampled_at LIMIT %(limit)s""",
    ),
    # The order of the groups: the run's group must not follow, in stream order (seq), a
    # group holding its data. committed_at is not used: clocks step.
    (
        4,
        "run whose row was committed in a group after one holding its data",
        """
        SELECT r.id AS run_id, rw.transaction_id AS run_transaction_id,
               rw.first_seq AS run_first_seq, dw.transaction_id AS data_transaction_id,
               dw.first_seq AS data_first_seq, count(*) OVER () AS total
        FROM process_executions r
        JOIN write_transactions rw ON rw.transaction_id = r.transaction_id
        JOIN (SELECT DISTINCT run_id, transaction_id FROM process_data_points) d
          ON d.run_id = r.id
        JOIN write_transactions dw ON dw.transaction_id = d.transaction_id
        WHERE r.machine = %(machine)s AND dw.first_seq < rw.first_seq
        ORDER BY r.started_at LIMIT %(limit)s""",
    ),
    # A gap is placed like a sample: inside the interval of the run it names, and every
    # gap inside a run's interval names that run.
    (
        7,
        "gap outside its run's interval",
        """
        SELECT g.run_id, g.at, g.reason, r.started_at, r.ended_at, count(*) OVER () AS total
        FROM plc_gaps g JOIN process_executions r ON r.id = g.run_id
        WHERE g.machine = %(machine)s
          AND NOT (g.at >= r.started_at AND g.at < coalesce(r.ended_at, 'infinity'))
        ORDER BY g.at LIMIT %(limit)s""",
    ),
    (
        7,
        "gap inside a run's interval not attributed to that run",
        """
        SELECT r.id AS run_id, g.run_id AS gap_run_id, g.at, g.reason,
               count(*) OVER () AS total
        FROM plc_gaps g
        JOIN process_executions r
          ON r.machine = g.machine AND g.at >= r.started_at
             AND g.at < coalesce(r.ended_at, 'infinity')
        WHERE g.machine = %(machine)s AND g.run_id IS DISTINCT FROM r.id
        ORDER BY g.at LIMIT %(limit)s""",
    ),
    (
        7,
        "gap naming a run that has no row",
        """
        SELECT g.run_id, g.at, g.reason, count(*) OVER () AS total
        FROM plc_gaps g
        WHERE g.machine = %(machine)s AND g.run_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM process_executions r WHERE r.id = g.run_id)
        ORDER BY g.at LIMIT %(limit)s""",
    ),
    # A recipe step lies inside the run it names, start and end (a step ending with its
    # run's end is inside: the run ends after it), and is recorded once, in stream order
    # within its group, counted by the group's ledger row. The unique key and the foreign
    # keys refuse most of this while enforced; checked here without relying on them.
    (
        8,
        "recipe step outside its run's interval",
        """
        SELECT s.run_id, s.seq, s.path, s.started_at, s.ended_at, r.started_at AS run_started_at,
               r.ended_at AS run_ended_at, count(*) OVER () AS total
        FROM run_steps s JOIN process_executions r ON r.id = s.run_id
        WHERE s.machine = %(machine)s
          AND NOT (s.started_at >= r.started_at
                   AND s.ended_at <= coalesce(r.ended_at, 'infinity')
                   AND r.machine = s.machine)
        ORDER BY s.seq LIMIT %(limit)s""",
    ),
    (
        8,
        "recipe step naming a run that has no row",
        """
        SELECT s.run_id, s.seq, s.path, s.ended_at, count(*) OVER () AS total
        FROM run_steps s
        WHERE s.machine = %(machine)s
          AND NOT EXISTS (SELECT 1 FROM process_executions r WHERE r.id = s.run_id)
        ORDER BY s.seq LIMIT %(limit)s""",
    ),
    (
        8,
        "recipe step stored more than once",
        """
        SELECT s.seq, count(*) AS copies, count(*) OVER () AS total
        FROM run_steps s WHERE s.machine = %(machine)s
        GROUP BY s.seq HAVING count(*) > 1
        ORDER BY s.seq LIMIT %(limit)s""",
    ),
    (
        8,
        "recipe step outside its transaction's stream range, or without a ledger row",
        """
        SELECT s.seq, s.path, s.transaction_id, w.first_seq, w.last_seq,
               count(*) OVER () AS total
        FROM run_steps s LEFT JOIN write_transactions w USING (transaction_id)
        WHERE s.machine = %(machine)s
          AND (s.seq BETWEEN w.first_seq AND w.last_seq AND w.machine = s.machine)
              IS NOT TRUE
        ORDER BY s.seq LIMIT %(limit)s""",
    ),
    (
        8,
        "ledger row whose step count differs from the steps of its transaction",
        """
        WITH s AS (SELECT transaction_id, count(*) AS n FROM run_steps GROUP BY transaction_id)
        SELECT w.transaction_id, w.committed_at, w.step_rows,
               coalesce(s.n, 0) AS step_rows_found, count(*) OVER () AS total
        FROM write_transactions w LEFT JOIN s USING (transaction_id)
        WHERE w.machine = %(machine)s AND w.step_rows <> coalesce(s.n, 0)
        ORDER BY w.committed_at LIMIT %(limit)s""",
    ),
)


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
        checked = Checked(**{k: int(v) for k, v in counts.items()})
        for invariant, rule, query in _CHECKS:
            cur.execute(query, {"machine": machine, "limit": examples})
            rows = cur.fetchall()
            if rows:
                total = int(rows[0]["total"])
                shown = tuple({k: str(v) for k, v in row.items() if k != "total"} for row in rows)
                result.append(Violation(invariant, rule, total, shown))
    return DataCheck(result, checked)
