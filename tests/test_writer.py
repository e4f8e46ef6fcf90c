"""The writer against a real PostgreSQL: exactly once, in order, through outages,
refusals, lost acknowledgements and shutdowns."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ald_gui.domain.stream import (
    Batch,
    Gap,
    Run,
    RunEnded,
    RunStarted,
    RunStatus,
    StreamItem,
)
from ald_gui.domain.tags import DataType, RegisterKind, Tag
from ald_gui.store.commit import commit_group
from ald_gui.store.db import writer_conninfo
from ald_gui.store.health import WriterEvent, WriterEventKind, WriterHealth
from ald_gui.store.invariants import check_invariants
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.spool import Spool
from ald_gui.store.writer import Writer
from tests.waiting import wait_until

MACHINE = "ald-test"
TAGS = [
    Tag(component=f"heater {i}", name="temperature", data_type=DataType.FLOAT32,
        register_kind=RegisterKind.HOLDING, address=2 * i, min=0, max=1000)
    for i in range(5)
]  # fmt: skip
KEYS = tuple(t.key for t in TAGS)
T0 = 1_767_225_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Stream:
    """Builds an ordered stream as the poll thread would."""

    def __init__(self) -> None:
        self.seq = 0
        self.t = T0
        self.run: Run | None = None

    def _next(self) -> int:
        self.seq += 1
        self.t += 100_000
        return self.seq

    def start(self) -> RunStarted:
        seq = self._next()
        self.run = Run(uuid.uuid4(), MACHINE, "jdoe", self.t)
        return RunStarted(seq, self.run)

    def end(self) -> RunEnded:
        assert self.run is not None
        seq = self._next()
        ended = RunEnded(seq, self.run.id, self.t, RunStatus.COMPLETED)
        self.run = None
        return ended

    def batches(self, n: int, tags: Sequence[str] = KEYS) -> list[Batch]:
        out = []
        for _ in range(n):
            seq = self._next()
            values = {key: seq + k / 10 for k, key in enumerate(tags)}
            out.append(Batch(seq, self.t, values, self.run.id if self.run else None))
        return out

    def gap(self) -> Gap:
        return Gap(self._next(), self.t, "PLC timed out", self.run.id if self.run else None)


@contextmanager
def running(dsn: str, spool: Spool, **kwargs: Any) -> Iterator[Writer]:
    options: dict[str, Any] = {
        "retry_first_s": 0.05, "retry_cap_s": 0.5, "connection_wait_s": 0.5,
        "health_interval_s": 0.1,
    }  # fmt: skip
    writer = Writer(dsn, spool, MACHINE, TAGS, **(options | kwargs))
    writer.start()
    try:
        yield writer
    finally:
        writer.stop(timeout=5.0)


def _drained(writer: Writer) -> bool:
    health = writer.health()  # one snapshot: the queue is read before the spool
    return health.queue_depth == 0 and health.spool_depth == 0


def _us(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _history(dsn: str) -> list[tuple[str, int, float]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT p.key, h.sampled_at, h.value FROM parameter_value_history h"
            " JOIN parameters p ON p.id = h.parameter_id"
        ).fetchall()
    return sorted((key, _us(at), value) for key, at, value in rows)


def _expected(batches: Sequence[Batch]) -> list[tuple[str, int, float]]:
    return sorted((k, b.sampled_at_us, v) for b in batches for k, v in b.values.items())


def _assert_whole(dsn: str, batches: Sequence[Batch]) -> None:
    """Every sample exactly once, ledger in stream order, invariants 1-4 hold."""
    assert _history(dsn) == _expected(batches)
    with psycopg.connect(dsn, autocommit=True) as conn:
        run_rows = conn.execute("SELECT count(*) FROM process_data_points").fetchone()
        ledger = conn.execute(
            "SELECT first_seq, last_seq FROM write_transactions ORDER BY committed_at, first_seq"
        ).fetchall()
        assert check_invariants(conn, MACHINE) == []
    assert run_rows == (sum(len(b.values) for b in batches if b.run_id is not None),)
    seqs = [s for pair in ledger for s in pair]
    assert seqs == sorted(seqs), "groups committed out of stream order"


def test_dsn_gets_link_timeouts_unless_it_sets_them() -> None:
    info = psycopg.conninfo.conninfo_to_dict(writer_conninfo("host=db connect_timeout=30"))
    assert info["connect_timeout"] == "30"
    assert info["tcp_user_timeout"] == "20000"
    assert info["keepalives_idle"] == "10"


def test_submitted_items_arrive_once_in_order(pg_dsn: str, tmp_path: Path) -> None:
    s = Stream()
    idle = s.batches(3)
    start = s.start()
    in_run = s.batches(20)
    gap = s.gap()
    in_run += s.batches(5)
    end = s.end()
    after = s.batches(2)
    healths: list[WriterHealth] = []
    with (
        Spool(tmp_path / "spool.db") as spool,
        running(pg_dsn, spool, on_health=healths.append) as writer,
    ):
        writer.submit(idle)
        writer.submit([start, *in_run[:10]])
        for b in in_run[10:20]:
            writer.submit([b])
        writer.submit([gap, *in_run[20:], end])
        writer.submit(after)
        wait_until(lambda: _drained(writer), 10, "the spool to drain")
        health = writer.health()
        assert health.database_connected
        assert health.rows_per_second > 0
        assert health.last_commit_s is not None
        assert health.oldest_unsent_age_s is None
        assert health.pool.size == 1
        assert health.disk_free_bytes is not None and health.disk_free_bytes > 0
        assert len(writer.sample_latencies()) == len(idle + in_run + after)
    assert healths, "on_health was never called"
    _assert_whole(pg_dsn, idle + in_run + after)
    with psycopg.connect(pg_dsn) as conn:
        run = conn.execute("SELECT id, status, ended_at FROM process_executions").fetchall()
        gaps = conn.execute("SELECT run_id FROM plc_gaps").fetchall()
    assert run == [(start.run.id, "completed", _EPOCH + timedelta(microseconds=end.ended_at_us))]
    assert gaps == [(start.run.id,)]


def test_database_down_at_start_then_killed_mid_stream(
    private_pg_server: Any, tmp_path: Path
) -> None:
    server = private_pg_server()
    dsn = server.dsn
    server.stop()
    events: list[WriterEvent] = []
    s = Stream()
    first: list[StreamItem] = [s.start(), *s.batches(10)]
    second = s.batches(10)
    third: list[StreamItem] = [*s.batches(10), s.end()]
    with (
        Spool(tmp_path / "spool.db") as spool,
        running(dsn, spool, on_event=events.append) as writer,
    ):
        writer.submit(first)
        wait_until(lambda: any(e.kind is WriterEventKind.DATABASE_LOST for e in events), 10,
                   "the writer to report the database down")  # fmt: skip
        wait_until(lambda: spool.depth() == len(first), 5, "the items to be journaled")
        assert not writer.health().database_connected
        server.start()
        wait_until(lambda: _drained(writer), 30, "the spool to drain after the start")
        assert events[-1].kind is WriterEventKind.DATABASE_CONNECTED
        writer.submit(second)
        server.kill()  # mid-stream, maybe mid-commit: acknowledgements may be lost
        writer.submit(third)
        wait_until(lambda: [e.kind for e in events].count(WriterEventKind.DATABASE_LOST) == 2,
                   10, "the writer to notice the crash")  # fmt: skip
        server.start()
        wait_until(lambda: _drained(writer), 30, "the spool to drain after the crash")
    _assert_whole(dsn, [b for b in first + second + third if isinstance(b, Batch)])


def test_a_batch_with_an_unknown_tag_is_dead_lettered_and_the_rest_arrives(
    pg_dsn: str, tmp_path: Path
) -> None:
    s = Stream()
    start = s.start()
    good = s.batches(3)
    [bad] = s.batches(1, tags=[TAGS[0].key, "ghost.tag"])
    good += s.batches(4)
    end = s.end()
    events: list[WriterEvent] = []
    with Spool(tmp_path / "spool.db") as spool:
        writer = Writer(pg_dsn, spool, MACHINE, TAGS, on_event=events.append)
        writer.submit([start, *good[:3], bad, *good[3:], end])  # one group
        writer.start()
        try:
            wait_until(lambda: _drained(writer), 10, "the spool to drain")
            assert writer.health().dead_letters == 1
        finally:
            assert writer.stop()
        [letter] = spool.dead_letters()
    assert letter.item == bad
    assert "ghost.tag" in letter.reason
    [quarantined] = [e for e in events if e.kind is WriterEventKind.QUARANTINED]
    assert quarantined.transaction_id == letter.transaction_id
    assert f"seq {bad.seq}" in quarantined.message
    _assert_whole(pg_dsn, good)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT status FROM process_executions").fetchall() == [("completed",)]


def test_replay_of_a_committed_group_writes_nothing_twice(
    migrated_pg_dsn: str, tmp_path: Path
) -> None:
    s = Stream()
    committed: list[StreamItem] = [s.start(), *s.batches(5)]
    left_over = s.batches(5)  # journaled by the "previous process", never sent
    fresh: list[StreamItem] = [*s.batches(5), s.end()]
    with Spool(tmp_path / "spool.db") as spool:
        spool.append(committed)
        group = spool.next_group(100)
        assert group is not None
        spool.append(left_over)
        # The previous process committed the group, then died before acknowledging it.
        with psycopg.connect(migrated_pg_dsn) as conn:
            ids = sync_parameters(conn, MACHINE, TAGS)
            commit_group(conn, group.transaction_id, group.items, ids, MACHINE)
        events: list[WriterEvent] = []
        with running(migrated_pg_dsn, spool, on_event=events.append) as writer:
            writer.submit(fresh)
            wait_until(lambda: _drained(writer), 10, "the spool to drain")
        assert spool.dead_letters() == []
    assert not [e for e in events if e.kind is WriterEventKind.QUARANTINED]
    batches = [b for b in committed + left_over + fresh if isinstance(b, Batch)]
    _assert_whole(migrated_pg_dsn, batches)
    with psycopg.connect(migrated_pg_dsn) as conn:
        first = conn.execute(
            "SELECT transaction_id FROM write_transactions ORDER BY first_seq LIMIT 1"
        ).fetchone()
    assert first == (group.transaction_id,)


def test_a_schema_from_the_future_stops_commits_but_not_journaling(
    migrated_pg_dsn: str, tmp_path: Path
) -> None:
    with psycopg.connect(migrated_pg_dsn) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'future', 'x')"
        )
    events: list[WriterEvent] = []
    batches = Stream().batches(5)
    with (
        Spool(tmp_path / "spool.db") as spool,
        running(migrated_pg_dsn, spool, on_event=events.append) as writer,
    ):
        writer.submit(batches)
        wait_until(lambda: any(e.kind is WriterEventKind.SCHEMA_REFUSED for e in events), 10,
                   "the schema to be refused")  # fmt: skip
        wait_until(lambda: spool.depth() == len(batches), 5, "the items to be journaled")
        health = writer.health()
        assert not health.database_connected
        assert "newer" in health.last_error
        assert health.dead_letters == 0
    assert _history(migrated_pg_dsn) == []


def test_stop_journals_everything_submitted(tmp_path: Path) -> None:
    nowhere = f"host={tmp_path / 'no-server'} port=5432 dbname=none"
    batches = Stream().batches(200)
    with Spool(tmp_path / "spool.db") as spool:
        writer = Writer(nowhere, spool, MACHINE, TAGS, connection_wait_s=0.2)
        writer.start()
        for i in range(0, len(batches), 10):
            writer.submit(batches[i : i + 10])
        assert writer.stop(timeout=3.0)
        with pytest.raises(RuntimeError, match="stopped"):
            writer.submit(batches[:1])
        group = spool.next_group(1000)
    assert group is not None
    assert list(group.items) == batches


def test_a_writer_starts_once(tmp_path: Path) -> None:
    with Spool(tmp_path / "spool.db") as spool:
        writer = Writer(f"host={tmp_path} port=1", spool, MACHINE, TAGS, connection_wait_s=0.1)
        writer.start()
        with pytest.raises(RuntimeError, match="starts once"):
            writer.start()
        assert writer.stop(timeout=2.0)
        with pytest.raises(ValueError, match="max_group_items"):
            Writer("", spool, MACHINE, TAGS, max_group_items=0)


def test_batches_spooled_before_a_tag_left_the_configuration_still_arrive(
    migrated_pg_dsn: str, tmp_path: Path
) -> None:
    retired = Tag(component="old gauge", name="pressure", data_type=DataType.FLOAT32,
                  register_kind=RegisterKind.HOLDING, address=900, min=0, max=10)  # fmt: skip
    with psycopg.connect(migrated_pg_dsn) as conn:  # the previous configuration
        sync_parameters(conn, MACHINE, [*TAGS, retired])
    batches = Stream().batches(3, tags=[TAGS[0].key, retired.key])
    with Spool(tmp_path / "spool.db") as spool:
        spool.append(batches)  # journaled by the previous process
        with running(migrated_pg_dsn, spool) as writer:  # configured with TAGS only
            wait_until(lambda: _drained(writer), 10, "the spool to drain")
        assert spool.dead_letters() == []
    _assert_whole(migrated_pg_dsn, batches)


def test_a_lost_database_is_noticed_with_nothing_to_commit(
    private_pg_server: Any, tmp_path: Path
) -> None:
    server = private_pg_server()
    events: list[WriterEvent] = []
    with (
        Spool(tmp_path / "spool.db") as spool,
        running(server.dsn, spool, on_event=events.append) as writer,
    ):
        wait_until(lambda: writer.health().database_connected, 10, "the writer to connect")
        server.stop()  # no item is submitted: only the idle probe can notice
        wait_until(lambda: any(e.kind is WriterEventKind.DATABASE_LOST for e in events), 10,
                   "the writer to report the database lost")  # fmt: skip
        assert not writer.health().database_connected


def test_a_spool_row_that_does_not_decode_is_set_aside_and_commits_go_on(
    migrated_pg_dsn: str, tmp_path: Path
) -> None:
    path = tmp_path / "spool.db"
    batches = Stream().batches(8)
    with Spool(path) as spool:
        spool.append(batches)
        assert spool.next_group(100) is not None  # a previous process fixed the group
    damaged = sqlite3.connect(path)
    with damaged:
        damaged.execute("UPDATE spool SET body = x'0badf00d' WHERE pos = 5")
    damaged.close()
    events: list[WriterEvent] = []
    with Spool(path) as spool, running(migrated_pg_dsn, spool, on_event=events.append) as writer:
        wait_until(lambda: _drained(writer), 10, "the spool to drain past the damaged row")
        assert writer.health().dead_letters == 1
        [letter] = spool.dead_letters()
    assert letter.body == bytes.fromhex("0badf00d")
    [quarantined] = [e for e in events if e.kind is WriterEventKind.QUARANTINED]
    assert "spool position 5" in quarantined.message
    _assert_whole(migrated_pg_dsn, batches[:4] + batches[5:])
