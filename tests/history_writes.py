"""Samples and runs committed as a console commits them (commit_group, as the writer's
login, under the machine's lease), at times of the test's choosing: a day long past, a
day ahead. For the partition, retention and rollup tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from ald_gui.domain.stream import Batch, Run, RunEnded, RunStarted, RunStatus, StreamItem
from ald_gui.domain.tags import DataType, RegisterKind, Tag
from ald_gui.store.commit import commit_group
from ald_gui.store.lease import Lease
from ald_gui.store.parameters import sync_parameters

MACHINE = "ald-1"
TAGS = [
    Tag(component="Heater", name=f"T{i}", data_type=DataType.FLOAT32,
        register_kind=RegisterKind.HOLDING, address=2 * i, min=0, max=500)
    for i in range(2)
]  # fmt: skip
SAMPLE_TABLES = ("parameter_value_history", "process_data_points")


def utc_day(days_from_today: int) -> datetime:
    """Midnight UTC, ``days_from_today`` days from today."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days_from_today)


def us(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


class Console:
    """One machine's commits, on ``conn`` (the writer's login, autocommit off)."""

    def __init__(self, conn: psycopg.Connection[Any], machine: str = MACHINE) -> None:
        self.conn, self.machine = conn, machine
        self.lease = Lease(machine, uuid.uuid4(), Path("a test console"))
        self.lease.hold(conn)
        self.ids = sync_parameters(conn, machine, TAGS)
        conn.commit()
        self.seq = 0

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def commit(self, items: list[StreamItem]) -> None:
        commit_group(self.conn, uuid.uuid4(), items, self.ids, self.machine,
                     fence=self.lease.fence)  # fmt: skip

    def batch(self, at: datetime, value: float, run_id: uuid.UUID | None = None) -> Batch:
        values = {k: value + i for i, k in enumerate(self.ids)}
        return Batch(self._next(), us(at), values, run_id)

    def samples(self, start: datetime, count: int, every: timedelta, per_group: int = 5) -> None:
        """``count`` samples from ``start``, ``every`` apart, in groups of ``per_group``."""
        batches = [self.batch(start + i * every, float(i % 17) - 3.5) for i in range(count)]
        for i in range(0, count, per_group):
            self.commit(list(batches[i : i + per_group]))

    def run(self, start: datetime, end: datetime, samples: int) -> uuid.UUID:
        """A run from ``start`` to ``end`` with ``samples`` samples spread inside it."""
        run = Run(uuid.uuid4(), self.machine, "alice", us(start))
        began = RunStarted(self._next(), run)
        step = (end - start) / samples
        inside = [self.batch(start + i * step, float(i), run.id) for i in range(samples)]
        self.commit([began, *inside[:1]])
        for i in range(1, samples, 4):
            self.commit(list(inside[i : i + 4]))
        self.commit([RunEnded(self._next(), run.id, us(end), RunStatus.COMPLETED)])
        return run.id
