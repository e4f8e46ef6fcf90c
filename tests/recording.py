"""What the fault tests need around an engine: what it emitted, and what the database holds.

``Recording`` keeps every batch, run change and event an engine emitted (through its
queued signals, so the test's Qt loop must run: ``settle`` does that). ``Audit`` reads
back what PostgreSQL holds for a machine; ``assert_recorded_whole`` compares the two:
every emitted batch committed exactly once, in stream order, runs as they happened, and
the historian's own invariant checks clean.
"""

from __future__ import annotations

import bisect
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from ald_gui.domain.stream import Batch, RunEnded, RunStarted, RunStatus
from ald_gui.engine.engine import Engine
from ald_gui.store.health import WriterEvent, WriterEventKind
from ald_gui.store.invariants import check_invariants
from ald_gui.store.spool import DeadLetter, Spool

# Microseconds since the epoch, exactly: extract() returns numeric, not float.
US = "(extract(epoch FROM {}) * 1000000)::bigint"


def settle(qtbot: QtBot, condition: Callable[[], object], timeout_s: float, what: str) -> None:
    """Run the Qt loop until ``condition()`` is true; fail naming ``what`` after the timeout."""
    try:
        qtbot.waitUntil(lambda: bool(condition()), timeout=int(timeout_s * 1000))
    except qtbot.TimeoutError:
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}") from None


def deliver_pending_signals() -> None:
    """Deliver the queued signals of threads that have ended (after ``shutdown()``)."""
    QCoreApplication.sendPostedEvents()
    QCoreApplication.processEvents()


@dataclass
class Recording:
    """Everything ``engine`` emitted, in the order the signals arrived."""

    batches: list[Batch] = field(default_factory=list)
    run_items: list[RunStarted | RunEnded] = field(default_factory=list)
    events: list[object] = field(default_factory=list)

    @classmethod
    def of(cls, engine: Engine) -> Recording:
        """Connect before ``engine.open()``, so nothing is missed."""
        recording = cls()
        engine.sampled.connect(recording.batches.append)
        engine.run_changed.connect(recording.run_items.append)
        engine.occurred.connect(recording.events.append)
        return recording

    def writer_events(self, kind: WriterEventKind) -> list[WriterEvent]:
        return [e for e in self.events if isinstance(e, WriterEvent) and e.kind is kind]

    def batches_after(self, count: int) -> int:
        """How many batches arrived after the first ``count``."""
        return len(self.batches) - count

    @property
    def started(self) -> list[RunStarted]:
        return [i for i in self.run_items if isinstance(i, RunStarted)]

    @property
    def ended(self) -> list[RunEnded]:
        return [i for i in self.run_items if isinstance(i, RunEnded)]


@dataclass(frozen=True)
class RunRow:
    id: uuid.UUID
    started_at_us: int
    ended_at_us: int | None
    status: str
    reason: str


@dataclass(frozen=True)
class Audit:
    """What the database holds for one machine, read in one snapshot."""

    history_rows: int
    run_rows: int
    history_per_instant: Counter[int]  # sampled_at (µs) -> rows
    run_rows_per_sample: Counter[tuple[uuid.UUID, int]]  # (run, sampled_at) -> rows
    runs: dict[uuid.UUID, RunRow]
    ledger: list[tuple[int, int, int, int]]  # (first_seq, last_seq, history, run rows)
    gaps: list[tuple[int, uuid.UUID | None]]  # (at µs, the run it was attributed to)
    violations: list[str]

    def run_at(self, at_us: int) -> uuid.UUID | None:
        """The run whose [started_at, ended_at) holds ``at_us`` (an open run: to infinity)."""
        for run in self.runs.values():
            ended = run.ended_at_us if run.ended_at_us is not None else float("inf")
            if run.started_at_us <= at_us < ended:
                return run.id
        return None

    def misattributed_gaps(self) -> list[tuple[int, uuid.UUID | None, uuid.UUID | None]]:
        """(at, run recorded, run whose interval holds it) of every gap whose two differ."""
        wrong = [(at, run_id, self.run_at(at)) for at, run_id in self.gaps]
        return [w for w in wrong if w[1] != w[2]]

    @classmethod
    def read(cls, dsn: str, machine: str) -> Audit:
        with psycopg.connect(dsn, autocommit=True) as conn:
            violations = [str(v) for v in check_invariants(conn, machine)]
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                history = Counter(
                    dict(
                        _rows(
                            conn,
                            f"SELECT {US.format('h.sampled_at')}, count(*)"
                            " FROM parameter_value_history h"
                            " JOIN parameters p ON p.id = h.parameter_id"
                            " WHERE p.machine = %s GROUP BY 1",
                            machine,
                        )
                    )
                )
                run_points = Counter(
                    {
                        (run_id, at): n
                        for run_id, at, n in _rows(
                            conn,
                            f"SELECT d.run_id, {US.format('d.sampled_at')}, count(*)"
                            " FROM process_data_points d"
                            " JOIN process_executions r ON r.id = d.run_id"
                            " WHERE r.machine = %s GROUP BY 1, 2",
                            machine,
                        )
                    }
                )
                runs = {
                    row[0]: RunRow(*row)
                    for row in _rows(
                        conn,
                        f"SELECT id, {US.format('started_at')}, {US.format('ended_at')},"
                        " status, reason FROM process_executions WHERE machine = %s",
                        machine,
                    )
                }
                # Commit order: the order of the ledger's rows by commit time.
                ledger = [
                    tuple(row)
                    for row in _rows(
                        conn,
                        "SELECT first_seq, last_seq, history_rows, run_rows"
                        " FROM write_transactions WHERE machine = %s"
                        " ORDER BY committed_at, first_seq",
                        machine,
                    )
                ]
                gaps = [
                    (int(at), run_id)
                    for at, run_id in _rows(
                        conn,
                        f"SELECT {US.format('at')}, run_id FROM plc_gaps WHERE machine = %s"
                        " ORDER BY at",
                        machine,
                    )
                ]
        return cls(
            history_rows=sum(history.values()),
            run_rows=sum(run_points.values()),
            history_per_instant=history,
            run_rows_per_sample=run_points,
            runs=runs,
            ledger=ledger,
            gaps=gaps,
            violations=violations,
        )


def _rows(conn: psycopg.Connection[Any], query: str, *args: object) -> list[tuple[Any, ...]]:
    return conn.execute(query, args).fetchall()


def committed_history_rows(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM parameter_value_history").fetchone()
    assert row is not None
    return int(row[0])


def committed_instants(dsn: str) -> set[int]:
    """Every sampled_at (µs) in the history."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT DISTINCT {US.format('sampled_at')} FROM parameter_value_history"
        ).fetchall()
    return {int(r[0]) for r in rows}


def spool_contents(data_dir: Path) -> tuple[int, list[DeadLetter]]:
    """(items still waiting, dead letters) of the spool of a closed engine."""
    with Spool(data_dir / "spool.sqlite3") as spool:
        return spool.depth(), spool.dead_letters()


def assert_recorded_whole(
    recording: Recording,
    audit: Audit,
    *,
    refused: Iterable[Batch] = (),
) -> None:
    """Every batch the engine emitted is in the database exactly once (all but the
    ``refused`` ones, which must be absent), attributed to the run it was stamped
    with; groups were committed in stream order; runs are as the engine announced
    them; the historian's invariant checks find nothing."""
    refused_seqs = {b.seq for b in refused}
    kept = [b for b in recording.batches if b.seq not in refused_seqs]
    tags = {len(b.values) for b in recording.batches}
    assert len(tags) == 1, f"batches of different sizes: {sorted(tags)}"
    (per_batch,) = tags

    assert [b.seq for b in recording.batches] == sorted(b.seq for b in recording.batches)
    expected_history = Counter({b.sampled_at_us: per_batch for b in kept})
    assert len(expected_history) == len(kept), "two batches share an instant"
    assert audit.history_per_instant == expected_history, _difference(
        expected_history, audit.history_per_instant
    )
    assert audit.history_rows == len(kept) * per_batch
    in_runs = [b for b in kept if b.run_id is not None]
    expected_run_rows = Counter({(b.run_id, b.sampled_at_us): per_batch for b in in_runs})
    assert audit.run_rows_per_sample == expected_run_rows, _difference(
        expected_run_rows, audit.run_rows_per_sample
    )
    assert audit.run_rows == len(in_runs) * per_batch

    # In stream order, each item once: the ledger's seq ranges, in commit order, climb
    # without overlap, and every kept batch lies in one of them.
    previous_last = 0
    for first, last, _, _ in audit.ledger:
        assert first > previous_last, f"group {first}..{last} committed after ..{previous_last}"
        previous_last = last
    firsts = [first for first, *_ in audit.ledger]
    for b in kept:
        i = bisect.bisect_right(firsts, b.seq) - 1
        assert i >= 0 and audit.ledger[i][0] <= b.seq <= audit.ledger[i][1], (
            f"batch seq {b.seq} is in no committed group"
        )
    assert sum(h for *_, h, _ in audit.ledger) == audit.history_rows
    assert sum(r for *_, r in audit.ledger) == audit.run_rows

    started = {s.run.id: s.run.started_at_us for s in recording.started}
    ended = {e.run_id: e for e in recording.ended}
    assert set(audit.runs) == set(started)
    for run_id, row in audit.runs.items():
        assert row.started_at_us == started[run_id]
        end = ended.get(run_id)
        if end is None:
            assert (row.ended_at_us, row.status) == (None, RunStatus.RUNNING.value)
        else:
            assert (row.ended_at_us, row.status, row.reason) == (
                end.ended_at_us,
                end.status.value,
                end.reason,
            )
    assert audit.misattributed_gaps() == []
    assert audit.violations == []


def _difference(expected: Counter[Any], found: Counter[Any]) -> str:
    missing = expected - found
    extra = found - expected
    return (
        f"{sum(missing.values())} rows missing (e.g. {sorted(missing)[:3]}), "
        f"{sum(extra.values())} rows extra (e.g. {sorted(extra)[:3]})"
    )
