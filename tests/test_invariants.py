"""check_invariants: clean on data written by commit_group, and finds each seeded breakage.

Breakages are seeded with plain INSERTs (the append-only triggers allow them), each
with a ledger row of its own whose counts match, so that exactly one rule is broken.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ald_gui.domain.stream import Batch, Gap, Run, RunEnded, RunStarted, RunStatus
from ald_gui.domain.tags import DataType, RegisterKind, Tag
from ald_gui.store.commit import commit_group
from ald_gui.store.invariants import Violation, check_data, check_invariants
from ald_gui.store.lease import Lease
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.runs import close_orphaned_runs

MACHINE = "ald-1"
T0 = 1_700_000_000_000_000


def _close_orphans(conn: psycopg.Connection[Any]) -> list[uuid.UUID]:
    """Close the runs left open, as a console does: under the machine's lease."""
    lease = Lease(MACHINE, uuid.uuid4(), Path("the next console"))
    lease.hold(conn)
    return close_orphaned_runs(conn, MACHINE, [], lease.fence)


RUN_START, RUN_END = T0 + 10_000_000, T0 + 20_000_000  # µs; the good run's interval
TAGS = [
    Tag(component="Heater", name=f"T{i}", data_type=DataType.FLOAT32,
        register_kind=RegisterKind.HOLDING, address=2 * i, min=0, max=500)
    for i in range(3)
]  # fmt: skip


def _at(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


class History:
    """A database holding a short, whole history: idle samples, one ended run, a gap."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.ids = sync_parameters(conn, MACHINE, TAGS)
        self.pid = next(iter(self.ids.values()))
        self.run = Run(uuid.uuid4(), MACHINE, "alice", RUN_START)
        self.seq = 0
        self._commit([self._batch(T0)])
        self._commit([RunStarted(self._next(), self.run), self._batch(RUN_START, self.run.id)])
        self._commit([self._batch(RUN_START + 5_000_000, self.run.id), Gap(self._next(),
                      RUN_START + 6_000_000, "timeout", self.run.id)])  # fmt: skip
        self._commit([RunEnded(self._next(), self.run.id, RUN_END, RunStatus.COMPLETED),
                      self._batch(RUN_END)])  # fmt: skip

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _batch(self, at_us: int, run_id: uuid.UUID | None = None) -> Batch:
        return Batch(self._next(), at_us, {k: 1.0 for k in self.ids}, run_id)

    def _commit(self, items: list[Any]) -> None:
        commit_group(self.conn, uuid.uuid4(), items, self.ids, MACHINE)

    def ledger(self, history: int, run: int, gaps: int = 0, seq: int | None = None) -> uuid.UUID:
        """A ledger row for a seeded transaction (by default later than all the others)."""
        tx = uuid.uuid4()
        first = self._next() if seq is None else seq
        self.conn.execute(
            "INSERT INTO write_transactions (transaction_id, machine, history_rows, run_rows,"
            " gap_rows, first_seq, last_seq) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (tx, MACHINE, history, run, gaps, first, first),
        )
        return tx

    def history_row(self, at_us: int, tx: uuid.UUID) -> None:
        self.conn.execute(
            "INSERT INTO parameter_value_history VALUES (%s, %s, 2.0, %s)",
            (self.pid, _at(at_us), tx),
        )

    def run_row(self, run_id: uuid.UUID, at_us: int, tx: uuid.UUID) -> None:
        self.conn.execute(
            "INSERT INTO process_data_points VALUES (%s, %s, %s, 2.0, %s)",
            (run_id, self.pid, _at(at_us), tx),
        )

    def extra_run(self, start_us: int, end_us: int, tx: uuid.UUID) -> uuid.UUID:
        run_id = uuid.uuid4()
        self.conn.execute(
            "INSERT INTO process_executions (id, machine, operator, started_at, ended_at,"
            " status, transaction_id)"
            " VALUES (%s, %s, 'bob', %s, %s, 'completed', %s)",
            (run_id, MACHINE, _at(start_us), _at(end_us), tx),
        )
        return run_id

    def gap(self, at_us: int, run_id: uuid.UUID | None, tx: uuid.UUID) -> None:
        self.conn.execute(
            "INSERT INTO plc_gaps VALUES (%s, %s, 'seeded', %s, %s)",
            (MACHINE, _at(at_us), run_id, tx),
        )

    def broken_rules(self, machine: str = MACHINE) -> dict[tuple[int, str], int]:
        return {(v.invariant, v.rule): v.count for v in check_invariants(self.conn, machine)}


@pytest.fixture
def history(migrated_pg_dsn: str) -> Iterator[History]:
    with psycopg.connect(migrated_pg_dsn) as conn:
        h = History(conn)
        conn.autocommit = True
        yield h


def test_data_written_by_commit_group_is_whole(history: History) -> None:
    assert check_invariants(history.conn, MACHINE) == []


def test_run_row_outside_its_run(history: History) -> None:
    tx = history.ledger(1, 1)
    history.history_row(T0 + 1_000_000, tx)
    history.run_row(history.run.id, T0 + 1_000_000, tx)  # before the run started
    assert history.broken_rules() == {(1, "run row outside its run's interval"): 1}


def test_sample_at_the_end_of_a_run_is_outside_it(history: History) -> None:
    tx = history.ledger(1, 1)
    history.history_row(RUN_END, tx)
    history.run_row(history.run.id, RUN_END, tx)  # [started_at, ended_at): the end is out
    assert history.broken_rules() == {
        (1, "run row outside its run's interval"): 1,
        (2, "sample stored more than once in the history"): 1,  # the good one is at RUN_END
    }


def test_history_row_inside_a_run_without_its_run_row(history: History) -> None:
    tx = history.ledger(2, 0)
    history.history_row(RUN_START + 1, tx)
    history.history_row(RUN_END - 1, tx)
    assert history.broken_rules() == {
        (1, "history row inside a run's interval without its run row"): 2
    }


def test_history_inside_a_run_that_never_ended_needs_run_rows(history: History) -> None:
    tx = history.ledger(1, 0)
    open_run = uuid.uuid4()
    history.conn.execute(
        "INSERT INTO process_executions (id, machine, operator, started_at, transaction_id)"
        " VALUES (%s, %s, 'bob', %s, %s)",
        (open_run, MACHINE, _at(RUN_END + 5_000_000), tx),
    )
    history.history_row(RUN_END + 3_600_000_000, tx)  # an hour later: still in the run
    assert history.broken_rules() == {
        (1, "history row inside a run's interval without its run row"): 1
    }


def test_overlapping_runs(history: History) -> None:
    tx = history.ledger(0, 0)
    history.extra_run(RUN_END - 1, RUN_END + 1_000_000, tx)
    history.extra_run(RUN_END + 5_000_000, RUN_END + 5_000_000, tx)  # empty: overlaps nothing
    rules = history.broken_rules()
    assert rules[(1, "pair of runs of the machine whose intervals overlap")] == 1
    # The good run's last samples fall into the overlapping run, which has no run rows.
    assert rules[(1, "history row inside a run's interval without its run row")] == 3


def test_run_row_without_its_history_row(history: History) -> None:
    tx = history.ledger(0, 1)
    history.run_row(history.run.id, RUN_START + 7_000_000, tx)
    assert history.broken_rules() == {
        (2, "run row without a history row of the same tag, time and transaction"): 1
    }


def test_run_row_and_history_row_of_different_transactions(history: History) -> None:
    tx_history, tx_run = history.ledger(1, 0), history.ledger(0, 1)
    history.history_row(RUN_START + 7_000_000, tx_history)
    history.run_row(history.run.id, RUN_START + 7_000_000, tx_run)
    assert history.broken_rules() == {
        (2, "run row without a history row of the same tag, time and transaction"): 1
    }


def test_sample_stored_twice(history: History) -> None:
    tx = history.ledger(1, 0)
    history.history_row(T0, tx)  # the idle sample at T0 exists already
    assert history.broken_rules() == {(2, "sample stored more than once in the history"): 1}


def test_run_sample_stored_twice(history: History) -> None:
    tx = history.ledger(1, 2)
    history.history_row(RUN_START + 7_000_000, tx)
    history.run_row(history.run.id, RUN_START + 7_000_000, tx)
    history.run_row(history.run.id, RUN_START + 7_000_000, tx)
    assert history.broken_rules() == {(2, "sample stored more than once for its run"): 1}


def test_ledger_counts_that_do_not_match(history: History) -> None:
    tx = history.ledger(5, 0, 1)
    history.history_row(T0 + 1, tx)
    violations = check_invariants(history.conn, MACHINE)
    assert [(v.invariant, v.count) for v in violations] == [(3, 1)]
    example = violations[0].examples[0]
    assert example["transaction_id"] == str(tx)
    assert (example["history_rows"], example["history_rows_found"]) == ("5", "1")
    assert (example["gap_rows"], example["gap_rows_found"]) == ("1", "0")


def test_data_rows_without_a_ledger_row(history: History) -> None:
    stray = uuid.uuid4()
    history.history_row(T0 + 1, stray)
    history.history_row(T0 + 2, stray)
    violations = check_invariants(history.conn, MACHINE)
    assert [(v.invariant, v.rule, v.count) for v in violations] == [
        (3, "transaction with data rows but no ledger row", 1)
    ]
    assert violations[0].examples[0]["rows_found"] == "2"


def test_run_committed_after_its_data(history: History) -> None:
    tx_data = history.ledger(1, 1, seq=1_000)
    tx_run = history.ledger(0, 0, seq=2_000)
    late = history.extra_run(RUN_END + 1_000_000, RUN_END + 2_000_000, tx_run)
    history.history_row(RUN_END + 1_500_000, tx_data)
    history.run_row(late, RUN_END + 1_500_000, tx_data)
    violations = check_invariants(history.conn, MACHINE)
    assert [(v.invariant, v.count) for v in violations] == [(4, 1)]
    assert violations[0].examples[0]["run_id"] == str(late)
    assert "invariant 4: 1 × run whose row was committed" in str(violations[0])


def test_what_was_checked_is_counted(history: History) -> None:
    checked = check_data(history.conn, MACHINE).checked
    # Every other kind's figure (steps, alarm events, ...) is counted too, as 0 here.
    assert {k: n for k, n in checked.figures().items() if n} == {
        "history_rows": 12, "run_rows": 6, "runs": 1, "gaps": 1, "transactions": 4,
    }  # fmt: skip
    assert {"steps", "alarm_events"} <= checked.figures().keys()
    assert str(checked).startswith("1 runs, 1 gaps, 0 recipe steps, ")
    assert str(checked).endswith("12 history rows, 6 run rows, 4 transactions")
    assert set(check_data(history.conn, "ald-2").checked.figures().values()) == {0}


def _without_foreign_keys(history: History) -> None:
    # As a restore with triggers disabled or a logical replica writes: keys unchecked.
    history.conn.execute("SET session_replication_role = replica")


def test_run_rows_whose_run_has_no_row(history: History) -> None:
    _without_foreign_keys(history)
    tx = history.ledger(1, 1)
    history.history_row(RUN_END + 1_000_000, tx)
    history.run_row(uuid.uuid4(), RUN_END + 1_000_000, tx)
    assert history.broken_rules() == {(4, "run row whose run has no row"): 1}


def test_gap_outside_its_run(history: History) -> None:
    history.gap(RUN_END, history.run.id, history.ledger(0, 0, 1))  # the end is outside
    assert history.broken_rules() == {(7, "gap outside its run's interval"): 1}


def test_gap_inside_a_run_not_attributed_to_it(history: History) -> None:
    history.gap(RUN_START + 7_000_000, None, history.ledger(0, 0, 1))
    assert history.broken_rules() == {
        (7, "gap inside a run's interval not attributed to that run"): 1
    }


def test_gap_naming_a_run_that_has_no_row(history: History) -> None:
    _without_foreign_keys(history)
    history.gap(RUN_END + 1_000_000, uuid.uuid4(), history.ledger(0, 0, 1))
    assert history.broken_rules() == {(7, "gap naming a run that has no row"): 1}


def test_a_run_left_open_ends_after_its_last_gap(history: History) -> None:
    """A console killed while the PLC was down: the run's last record is a gap."""
    run = Run(uuid.uuid4(), MACHINE, "bob", RUN_END + 1_000_000)
    last_gap = RUN_END + 3_000_000
    history._commit([RunStarted(history._next(), run),
                     history._batch(RUN_END + 2_000_000, run.id),
                     Gap(history._next(), last_gap, "PLC did not answer", run.id)])  # fmt: skip
    assert _close_orphans(history.conn) == [run.id]
    ended = history.conn.execute(
        "SELECT ended_at FROM process_executions WHERE id = %s", (run.id,)
    ).fetchone()
    assert ended == (_at(last_gap + 1),)
    assert check_invariants(history.conn, MACHINE) == []


def test_a_run_left_open_ends_after_its_last_sample(history: History) -> None:
    run = Run(uuid.uuid4(), MACHINE, "bob", RUN_END + 1_000_000)
    history._commit([RunStarted(history._next(), run),
                     Gap(history._next(), RUN_END + 2_000_000, "PLC did not answer", run.id),
                     history._batch(RUN_END + 3_000_000, run.id)])  # fmt: skip
    _close_orphans(history.conn)
    ended = history.conn.execute(
        "SELECT ended_at FROM process_executions WHERE id = %s", (run.id,)
    ).fetchone()
    assert ended == (_at(RUN_END + 3_000_001),)
    assert check_invariants(history.conn, MACHINE) == []


def test_other_machines_are_not_reported(history: History) -> None:
    history.history_row(T0 + 1, uuid.uuid4())
    assert history.broken_rules("ald-2") == {}
    assert len(history.broken_rules()) == 1


def test_violation_reads_well() -> None:
    v = Violation(3, "ledger row whose counts differ", 2, ({"transaction_id": "abc"},))
    assert str(v) == (
        "invariant 3: 2 × ledger row whose counts differ; e.g. {'transaction_id': 'abc'}"
    )
