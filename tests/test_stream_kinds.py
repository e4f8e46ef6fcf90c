"""The registry of stream item kinds (ald_gui.store.kinds): every item of the stream has
exactly one kind, the spool numbers that released spools hold keep their meaning, and
what the store reads of a kind's table the console's login may read."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ald_gui.domain.alarms import AlarmEvent
from ald_gui.domain.audit import AuditEntry
from ald_gui.domain.refusal import Refusal
from ald_gui.domain.stream import Batch, Gap, Run, RunEnded, RunStarted, StepRecord, StreamItem
from ald_gui.store.commit import commit_group
from ald_gui.store.kinds import BY_NUMBER, BY_TYPE, KINDS
from ald_gui.store.lease import Lease
from ald_gui.store.runs import close_orphaned_runs


def test_every_stream_item_has_exactly_one_kind() -> None:
    items = set(typing.get_args(StreamItem))
    assert {k.item for k in KINDS} == items
    assert len(KINDS) == len(items) == len(BY_TYPE) == len(BY_NUMBER)


def test_spool_numbers_are_those_spools_were_written_with() -> None:
    # A spool outlives a release: renumbering a kind would misread every row kept.
    assert {n: k.item for n, k in BY_NUMBER.items()} == {
        1: RunStarted, 2: RunEnded, 3: Batch, 4: Gap, 5: StepRecord, 6: AlarmEvent,
        7: Refusal, 8: AuditEntry,
    }  # fmt: skip


@pytest.fixture
def writer_dsn(migrated_pg_dsn: str) -> Iterator[str]:
    """A login of the ald_writer group, as a console records with."""
    name = f"writer_{uuid.uuid4().hex[:8]}"
    role = sql.Identifier(name)
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE ald_writer").format(role))
    yield make_conninfo(migrated_pg_dsn, user=name)
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(role))
        admin.execute(sql.SQL("DROP ROLE {}").format(role))


def test_the_writers_login_closes_a_crashed_run_reading_every_kinds_records(
    writer_dsn: str, tmp_path: Path
) -> None:
    """Closing a run left open reads the latest record of every kind that lies in runs
    (``last_in_run``), as the console's writer login: each such table must be readable
    by it, or no console could start after a crash."""
    assert [k.item for k in KINDS if k.last_in_run]  # the rule covers something
    run = Run(uuid.uuid4(), "ald-1", "jdoe", 1_700_000_000_000_000)
    with psycopg.connect(writer_dsn) as conn:
        commit_group(conn, uuid.uuid4(), [RunStarted(1, run)], {}, "ald-1")
        lease = Lease("ald-1", uuid.uuid4(), tmp_path)
        lease.hold(conn)
        assert close_orphaned_runs(conn, "ald-1", [], lease.fence) == [run.id]
