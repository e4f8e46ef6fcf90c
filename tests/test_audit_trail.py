"""The audit trail in the database (migration 0010, store.kinds.audit_entry): entries
chained per machine at commit, exactly once, and a table nobody can change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from ald_gui.domain.audit import GENESIS, AuditEntry, Meaning, Signature, chain_hash
from ald_gui.domain.stream import Run, RunStarted, StreamItem
from ald_gui.store.audit_verify import verify_chains
from ald_gui.store.commit import GroupRejected, commit_group
from ald_gui.store.db import stream_us
from ald_gui.store.kinds.audit_entry import signatures_of
from tests.fixtures.pg import RolesDatabase

MACHINE = "ald-1"
T0 = 1_700_000_000_000_000


def entry(seq: int, action: str = "write", run_id: uuid.UUID | None = None) -> AuditEntry:
    return AuditEntry(
        seq, T0 + seq, "jdoe", "operator", action, "MFC 1.Flow setpoint", "10", "20",
        "because", (Signature("jdoe", "Jane Doe", Meaning.AUTHORED),), run_id,
    )  # fmt: skip


@pytest.fixture
def conn(migrated_pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(migrated_pg_dsn) as c:
        yield c


def stored(conn: psycopg.Connection[Any], machine: str = MACHINE) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT position, seq, (extract(epoch FROM at) * 1000000)::bigint, committed_at,"
        " account, role, action, object, before, after, reason, signatures, run_id,"
        " prev_hash, hash, transaction_id FROM audit_entries WHERE machine = %s"
        " ORDER BY position",
        (machine,),
    ).fetchall()
    conn.rollback()
    return rows


def relinked(rows: list[tuple[Any, ...]], machine: str = MACHINE) -> list[str]:
    """Each row's hash recomputed from the rows before it, as verify does."""
    previous, links = GENESIS, []
    for r in rows:
        e = AuditEntry(r[1], r[2], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                       signatures_of(r[11]), r[12])  # fmt: skip
        assert r[13] == previous
        previous = chain_hash(previous, e, machine, stream_us(r[3]))
        links.append(previous)
    return links


def test_entries_are_chained_in_stream_order_across_groups(
    conn: psycopg.Connection[Any],
) -> None:
    run = Run(uuid.uuid4(), MACHINE, "jdoe", T0)
    first: list[StreamItem] = [entry(1, "login"), RunStarted(2, run), entry(3, "run start", run.id)]
    tx1, tx2 = uuid.uuid4(), uuid.uuid4()
    result = commit_group(conn, tx1, first, {}, MACHINE)
    assert result.rows["audit_rows"] == 2
    commit_group(conn, tx2, [entry(4), entry(5, "logout")], {}, MACHINE)
    rows = stored(conn)
    assert [(r[0], r[1], r[6]) for r in rows] == [
        (1, 1, "login"), (2, 3, "run start"), (3, 4, "write"), (4, 5, "logout")
    ]  # fmt: skip
    assert [r[14] for r in rows] == relinked(rows)
    assert [r[15] for r in rows] == [tx1, tx1, tx2, tx2]
    assert rows[1][12] == run.id and rows[0][11] == [
        {"account": "jdoe", "full_name": "Jane Doe", "meaning": "authored"}
    ]
    # The commit time is the server's, one per transaction, and the head is the last link.
    assert rows[0][3] == rows[1][3] < rows[2][3] == rows[3][3]
    head = conn.execute("SELECT position, hash FROM audit_chain_heads WHERE machine = %s",
                        (MACHINE,)).fetchone()  # fmt: skip
    assert head == (4, rows[-1][14])


def test_a_replayed_group_adds_nothing_to_the_chain(conn: psycopg.Connection[Any]) -> None:
    tx = uuid.uuid4()
    commit_group(conn, tx, [entry(1), entry(2)], {}, MACHINE)
    again = commit_group(conn, tx, [entry(1), entry(2)], {}, MACHINE)  # its ack was lost
    assert again.already_committed
    commit_group(conn, uuid.uuid4(), [entry(3)], {}, MACHINE)
    rows = stored(conn)
    assert [r[0] for r in rows] == [1, 2, 3] and [r[14] for r in rows] == relinked(rows)


def test_each_machine_has_a_chain_of_its_own(conn: psycopg.Connection[Any]) -> None:
    commit_group(conn, uuid.uuid4(), [entry(1)], {}, MACHINE)
    commit_group(conn, uuid.uuid4(), [entry(1), entry(2)], {}, "ald-2")
    commit_group(conn, uuid.uuid4(), [entry(2)], {}, MACHINE)
    for machine in (MACHINE, "ald-2"):
        rows = stored(conn, machine)
        assert [r[0] for r in rows] == [1, 2] and [r[14] for r in rows] == relinked(rows, machine)


def test_an_entry_naming_a_run_that_never_started_is_refused_by_name(
    conn: psycopg.Connection[Any],
) -> None:
    ghost = uuid.uuid4()
    refusal = f"audit entry 'run stop' \\(seq 1\\) names run {ghost}"
    with pytest.raises(GroupRejected, match=refusal):
        commit_group(conn, uuid.uuid4(), [entry(1, "run stop", ghost)], {}, MACHINE)
    assert stored(conn) == []


_CHANGES = [
    "UPDATE audit_entries SET after = '30'",
    "DELETE FROM audit_entries",
    "TRUNCATE audit_entries CASCADE",
    "UPDATE audit_chain_heads SET position = 0, hash = repeat('0', 64)",
    "DELETE FROM audit_chain_heads",
    "TRUNCATE audit_chain_heads",
    "INSERT INTO audit_chain_heads VALUES ('ald-9', 5, repeat('a', 64))",
]


@pytest.mark.parametrize("statement", _CHANGES)
def test_the_trail_cannot_be_changed_even_by_a_superuser(
    conn: psycopg.Connection[Any], statement: str
) -> None:
    commit_group(conn, uuid.uuid4(), [entry(1), entry(2)], {}, MACHINE)
    before = stored(conn)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="refused"):
        conn.execute(statement)
    conn.rollback()
    assert stored(conn) == before


def _insert(conn: psycopg.Connection[Any], position: int, prev_hash: str, committed: str) -> None:
    tx = conn.execute("SELECT transaction_id FROM write_transactions LIMIT 1").fetchone()
    assert tx is not None
    conn.execute(
        "INSERT INTO audit_entries (machine, position, seq, at, committed_at, account, role,"
        " action, prev_hash, hash, transaction_id) VALUES (%s, %s, 99, now(), " + committed
        + ", 'mallory', 'administrator', 'write', %s, repeat('b', 64), %s)",
        (MACHINE, position, prev_hash, tx[0]),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("position", "previous", "committed", "refusal"),
    [
        (3, "a" * 64, "now()", "does not continue its chain"),  # not the last hash
        (2, "last", "now()", "does not continue its chain"),  # a position taken
        (4, "last", "now()", "does not continue its chain"),  # a position skipped
        (3, "last", "now() - interval '1 day'", "is not the server's"),  # backdated
    ],
)
def test_an_entry_that_does_not_continue_its_chain_is_refused(
    conn: psycopg.Connection[Any], position: int, previous: str, committed: str, refusal: str
) -> None:
    commit_group(conn, uuid.uuid4(), [entry(1), entry(2)], {}, MACHINE)
    before = stored(conn)
    last = before[-1][14]
    # No chain head is taken: the superuser inserting directly meets the trigger only.
    with pytest.raises(psycopg.errors.RaiseException, match=refusal):
        _insert(conn, position, last if previous == "last" else previous, committed)
    conn.rollback()
    assert stored(conn) == before


def test_the_consoles_logins_on_both_servers_chain_read_and_cannot_change(
    roles_db: RolesDatabase,
) -> None:
    """As a console's writer (not a superuser) on the embedded 18 and on Debian's 15:
    the chain is made through the head function alone; the writer may not read, change
    or remove an entry nor move a head; the reader verifies the chain."""
    with psycopg.connect(roles_db.writer) as conn:
        commit_group(conn, uuid.uuid4(), [entry(1), entry(2)], {}, MACHINE)
        commit_group(conn, uuid.uuid4(), [entry(3)], {}, MACHINE)
    attacks = [
        "SELECT count(*) FROM audit_entries",
        "UPDATE audit_entries SET after = '0'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
        "UPDATE audit_chain_heads SET position = 0",
        "DELETE FROM audit_chain_heads",
        "ALTER TABLE audit_entries DISABLE TRIGGER ALL",
        "SELECT continue_audit_chain()",
    ]
    with psycopg.connect(roles_db.writer, autocommit=True) as conn:
        for statement in attacks:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    with psycopg.connect(roles_db.reader) as conn:
        [check] = verify_chains(conn)
        assert (check.ok, check.entries) == (True, 3)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM audit_chain_head('ald-1')")
