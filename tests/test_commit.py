"""commit_group: one write group, one transaction, exactly once; and which errors to retry."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from ald_gui.domain.stream import Batch, Gap, Run, RunEnded, RunStarted, RunStatus, StreamItem
from ald_gui.domain.tags import DataType, RegisterKind, Tag
from ald_gui.store.commit import GroupRejected, commit_group, is_data_error, is_transient
from ald_gui.store.migrations import upgrade
from ald_gui.store.parameters import sync_parameters
from ald_gui.store.server import EmbeddedServer

MACHINE = "ald-1"
T0 = 1_700_000_000_000_000  # 2023-11-14 22:13:20 UTC, in microseconds


def tag(component: str, name: str, address: int, unit: str = "") -> Tag:
    return Tag(
        component=component, name=name, unit=unit, data_type=DataType.FLOAT32,
        register_kind=RegisterKind.HOLDING, address=address, min=0, max=500,
    )  # fmt: skip


TAGS = [
    tag("Chamber heater", "Temperature read", 0, "°C"),
    tag("MFC 1", "Flow read", 2, "sccm"),
    tag("Pirani", "Pressure", 4, "Pa"),
]
KEYS = [t.key for t in TAGS]


@pytest.fixture
def conn(migrated_pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(migrated_pg_dsn) as c:
        yield c


@pytest.fixture
def ids(conn: psycopg.Connection[Any]) -> dict[str, int]:
    return sync_parameters(conn, MACHINE, TAGS)


def batch(seq: int, at_us: int, run_id: uuid.UUID | None = None) -> Batch:
    return Batch(seq, at_us, {k: float(seq * 10 + i) for i, k in enumerate(KEYS)}, run_id)


def one(conn: psycopg.Connection[Any], query: str, *params: object) -> Any:
    row = conn.execute(query.encode(), params).fetchone()
    conn.rollback()
    assert row is not None
    return row[0] if len(row) == 1 else row


def counts(conn: psycopg.Connection[Any]) -> tuple[int, ...]:
    return tuple(
        one(conn, f"SELECT count(*) FROM {t}")
        for t in ("parameter_value_history", "process_data_points", "plc_gaps",
                  "write_transactions", "process_executions")
    )  # fmt: skip


def a_run(started_at_us: int = T0 + 1_000_000) -> Run:
    return Run(uuid.uuid4(), MACHINE, "alice", started_at_us, note="n", recipe="Al2O3 100 cycles")


# -- parameters -------------------------------------------------------------------------


def test_sync_parameters_keeps_ids_updates_changes_and_keeps_dropped_tags(
    conn: psycopg.Connection[Any],
) -> None:
    first = sync_parameters(conn, MACHINE, TAGS)
    assert sorted(first) == sorted(KEYS) and len(set(first.values())) == 3
    stamp = one(conn, "SELECT updated_at FROM parameters WHERE key = %s", KEYS[1])

    changed = [tag("Chamber heater", "Temperature read", 0, "K"), TAGS[1]]
    second = sync_parameters(conn, MACHINE, changed)
    assert second == {k: first[k] for k in KEYS[:2]}
    assert one(conn, "SELECT unit FROM parameters WHERE key = %s", KEYS[0]) == "K"
    assert one(conn, "SELECT updated_at FROM parameters WHERE key = %s", KEYS[1]) == stamp
    assert one(conn, "SELECT count(*) FROM parameters") == 3  # the dropped tag stays
    other = sync_parameters(conn, "ald-2", TAGS)
    assert set(other.values()).isdisjoint(first.values())


# -- commit_group -------------------------------------------------------------------


def test_group_writes_samples_runs_gaps_and_a_ledger_row_that_counts_them(
    conn: psycopg.Connection[Any], ids: dict[str, int]
) -> None:
    run = a_run()
    items: list[StreamItem] = [
        batch(1, T0),  # idle
        RunStarted(2, run),
        batch(3, T0 + 1_000_000, run.id),  # the run's first sample, at its start
        Gap(4, T0 + 1_500_000, "PLC timeout", run.id),
        batch(5, T0 + 2_000_000, run.id),
        RunEnded(6, run.id, T0 + 2_500_000, RunStatus.COMPLETED, "recipe done"),
        Gap(7, T0 + 2_700_000, "PLC timeout"),
        batch(8, T0 + 3_000_000),  # idle again
    ]
    tx = uuid.uuid4()
    result = commit_group(conn, tx, items, ids, MACHINE)

    assert (result.transaction_id, result.already_committed) == (tx, False)
    assert result.rows == {
        "history_rows": 12, "run_rows": 6, "gap_rows": 2, "step_rows": 0, "alarm_rows": 0,
        "refusal_rows": 0, "audit_rows": 0,
    }  # fmt: skip
    assert counts(conn) == (12, 6, 2, 1, 1)
    ledger = one(
        conn,
        "SELECT machine, history_rows, run_rows, gap_rows, first_seq, last_seq"
        " FROM write_transactions WHERE transaction_id = %s",
        tx,
    )
    assert ledger == (MACHINE, 12, 6, 2, 1, 8)
    stored_run = one(
        conn,
        "SELECT machine, operator, note, recipe_name, status, reason, transaction_id,"
        " (extract(epoch FROM ended_at) * 1000000)::bigint FROM process_executions",
    )
    assert stored_run == (
        MACHINE, "alice", "n", "Al2O3 100 cycles", "completed", "recipe done", tx, T0 + 2_500_000,
    )  # fmt: skip
    run_times = conn.execute(
        "SELECT DISTINCT (extract(epoch FROM sampled_at) * 1000000)::bigint, run_id"
        " FROM process_data_points WHERE transaction_id = %s ORDER BY 1",
        (tx,),
    ).fetchall()
    assert run_times == [(T0 + 1_000_000, run.id), (T0 + 2_000_000, run.id)]
    gaps = conn.execute("SELECT reason, run_id FROM plc_gaps ORDER BY at").fetchall()
    assert gaps == [("PLC timeout", run.id), ("PLC timeout", None)]  # second: after the end
    history = conn.execute(
        "SELECT parameter_id, value FROM parameter_value_history WHERE sampled_at = %s",
        (one(conn, "SELECT to_timestamp(%s)", (T0 + 3_000_000) / 1e6),),
    ).fetchall()
    assert sorted(history) == sorted((ids[k], 80.0 + i) for i, k in enumerate(KEYS))


def test_a_run_spanning_groups_gets_its_rows_in_each(
    conn: psycopg.Connection[Any], ids: dict[str, int]
) -> None:
    run = a_run()
    commit_group(conn, uuid.uuid4(), [RunStarted(1, run)], ids, MACHINE)
    commit_group(conn, uuid.uuid4(), [batch(2, T0 + 1_000_001, run.id)], ids, MACHINE)
    commit_group(conn, uuid.uuid4(), [Gap(3, T0 + 1_000_002, "stalled", run.id)], ids, MACHINE)
    end = RunEnded(4, run.id, T0 + 2_000_000, RunStatus.ABORTED, "operator stop")
    commit_group(conn, uuid.uuid4(), [end, batch(5, T0 + 2_000_000)], ids, MACHINE)
    assert counts(conn) == (6, 3, 1, 4, 1)
    assert one(conn, "SELECT run_id FROM plc_gaps") == run.id
    assert one(conn, "SELECT status FROM process_executions") == "aborted"


def test_replay_of_a_committed_group_writes_nothing(
    conn: psycopg.Connection[Any], ids: dict[str, int]
) -> None:
    run = a_run()
    items: list[StreamItem] = [
        RunStarted(1, run), batch(2, T0 + 1_000_000, run.id), Gap(3, T0 + 1_100_000, "x", run.id)
    ]  # fmt: skip
    tx = uuid.uuid4()
    first = commit_group(conn, tx, items, ids, MACHINE)
    before = counts(conn)
    again = commit_group(conn, tx, items, ids, MACHINE)  # the acknowledgement was lost
    assert again.already_committed and not first.already_committed
    assert again.rows == first.rows == {"history_rows": 3, "run_rows": 3, "gap_rows": 1,
                                        "step_rows": 0, "alarm_rows": 0,
                                        "refusal_rows": 0, "audit_rows": 0}  # fmt: skip
    assert counts(conn) == before


def test_a_reused_transaction_id_with_other_content_is_rejected(
    conn: psycopg.Connection[Any], ids: dict[str, int]
) -> None:
    tx = uuid.uuid4()
    commit_group(conn, tx, [batch(1, T0)], ids, MACHINE)
    with pytest.raises(GroupRejected, match="committed before with other content"):
        commit_group(conn, tx, [batch(2, T0 + 1), batch(3, T0 + 2)], ids, MACHINE)
    assert counts(conn) == (3, 0, 0, 1, 0)


def test_unknown_tag_is_a_permanent_error_and_nothing_is_written(
    conn: psycopg.Connection[Any], ids: dict[str, int]
) -> None:
    stray = Batch(2, T0, {KEYS[0]: 1.0, "nozzle.ghost": 2.0})
    with pytest.raises(GroupRejected, match=r"unknown to machine 'ald-1': nozzle\.ghost") as e:
        commit_group(conn, uuid.uuid4(), [batch(1, T0 - 1), stray], ids, MACHINE)
    assert not is_transient(e.value)
    assert counts(conn) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "at least one item"),
        ([batch(2, T0), batch(2, T0 + 1)], "out of stream order"),
        ([RunStarted(1, Run(uuid.uuid4(), "ald-2", "bob", T0))], "belongs to machine 'ald-2'"),
        ([RunEnded(1, uuid.uuid4(), T0, RunStatus.FAILED)], "ended .* but never started"),
    ],
)
def test_groups_that_can_never_commit_are_rejected_whole(
    conn: psycopg.Connection[Any], ids: dict[str, int], items: list[StreamItem], message: str
) -> None:
    with pytest.raises(GroupRejected, match=message):
        commit_group(conn, uuid.uuid4(), items, ids, MACHINE)
    assert counts(conn) == (0, 0, 0, 0, 0)


def test_database_refusal_rolls_back_the_whole_group(
    conn: psycopg.Connection[Any], ids: dict[str, int]
) -> None:
    orphan = batch(2, T0, run_id=uuid.uuid4())  # a run the database never saw
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as e:
        commit_group(conn, uuid.uuid4(), [batch(1, T0 - 1), orphan], ids, MACHINE)
    assert not is_transient(e.value)
    assert counts(conn) == (0, 0, 0, 0, 0)
    commit_group(conn, uuid.uuid4(), [batch(3, T0 + 1)], ids, MACHINE)  # still usable


def test_times_and_values_are_stored_exactly(
    conn: psycopg.Connection[Any], ids: dict[str, int]
) -> None:
    # Odd microseconds that a float of seconds since 1970 cannot carry (2^53 µs ≈ 285 y).
    times = [1, T0 + 123_457, T0 + 999_999, 4_102_444_800_000_001, 253_402_300_799_999_999]
    values = [0.1 + 0.2, -0.0, 1e-300, 3.4028234663852886e38, float("nan")]
    items = [
        Batch(i + 1, t, {KEYS[0]: v}) for i, (t, v) in enumerate(zip(times, values, strict=True))
    ]
    commit_group(conn, uuid.uuid4(), items, ids, MACHINE)
    rows = conn.execute(
        "SELECT (extract(epoch FROM sampled_at) * 1000000)::bigint, sampled_at, value"
        " FROM parameter_value_history ORDER BY sampled_at"
    ).fetchall()
    assert [r[0] for r in rows] == times
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert [(r[1] - epoch) // timedelta(microseconds=1) for r in rows] == times
    assert [r[2] for r in rows[:4]] == values[:4] and rows[4][2] != rows[4][2]  # NaN


def test_commit_needs_a_connection_outside_a_transaction(
    conn: psycopg.Connection[Any], ids: dict[str, int]
) -> None:
    conn.execute("SELECT 1")
    with pytest.raises(psycopg.ProgrammingError, match="outside any transaction"):
        commit_group(conn, uuid.uuid4(), [batch(1, T0)], ids, MACHINE)


def test_a_realistic_group_commits(conn: psycopg.Connection[Any]) -> None:
    """100 polls of 137 tags (50 s at 2 Hz of the reference reactor) during a run."""
    tags = [tag("Bank", f"Value {i}", 2 * i) for i in range(137)]
    ids = sync_parameters(conn, MACHINE, tags)
    run = a_run(T0)
    items: list[StreamItem] = [RunStarted(1, run)]
    items += [
        Batch(2 + i, T0 + i * 500_000, {t.key: float(i) for t in tags}, run.id) for i in range(100)
    ]
    result = commit_group(conn, uuid.uuid4(), items, ids, MACHINE)
    assert (result.rows["history_rows"], result.rows["run_rows"]) == (13_700, 13_700)
    assert counts(conn)[:2] == (13_700, 13_700)


# -- is_transient -------------------------------------------------------------------


def _raised(conn: psycopg.Connection[Any], sqlstate: str) -> psycopg.Error:
    try:
        conn.execute(
            f"DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{sqlstate}'; END $$".encode()
        )
    except psycopg.Error as exc:
        conn.rollback()
        return exc
    raise AssertionError(f"no error for {sqlstate}")


@pytest.mark.parametrize(
    ("sqlstate", "transient"),
    [
        ("40001", True),  # serialization_failure
        ("40P01", True),  # deadlock_detected
        ("53100", True),  # disk_full
        ("53300", True),  # too_many_connections
        ("55P03", True),  # lock_not_available
        ("57P01", True),  # admin_shutdown
        ("08006", True),  # connection_failure
        ("22003", False),  # numeric_value_out_of_range
        ("23505", False),  # unique_violation
        ("42501", False),  # insufficient_privilege (the append-only triggers)
        ("54000", False),  # program_limit_exceeded: an OperationalError, yet permanent
        ("P0001", False),  # raise_exception
    ],
)
def test_server_errors_are_classified_by_sqlstate(
    pg_conn: psycopg.Connection[Any], sqlstate: str, transient: bool
) -> None:
    exc = _raised(pg_conn, sqlstate)
    assert exc.sqlstate == sqlstate
    assert is_transient(exc) is transient


@pytest.mark.parametrize(
    ("sqlstate", "data"),
    [
        ("22003", True),  # numeric_value_out_of_range
        ("22021", True),  # character_not_in_repertoire (a NUL in text)
        ("23505", True),  # unique_violation
        ("23514", True),  # check_violation
        ("42501", False),  # insufficient_privilege: a permission revoked
        ("42P01", False),  # undefined_table: a table renamed or dropped
        ("58030", False),  # io_error on the server
        ("XX000", False),  # internal_error
        ("54000", False),  # program_limit_exceeded
        ("P0001", False),  # raise_exception from a trigger
        ("57P01", False),  # admin_shutdown: transient, not the data
    ],
)
def test_only_errors_the_data_causes_are_data_errors(
    pg_conn: psycopg.Connection[Any], sqlstate: str, data: bool
) -> None:
    exc = _raised(pg_conn, sqlstate)
    assert is_data_error(exc) is data


def test_a_value_psycopg_refuses_before_sending_is_a_data_error(
    conn: psycopg.Connection[Any],
) -> None:
    """A NUL in text never reaches the server: psycopg refuses it, with no SQLSTATE."""
    ids = sync_parameters(conn, MACHINE, TAGS)
    with pytest.raises(psycopg.Error) as e:
        commit_group(conn, uuid.uuid4(), [Gap(1, T0, "PLC\x00garbage")], ids, MACHINE)
    assert e.value.sqlstate is None
    assert is_data_error(e.value)


def test_refusals_of_this_code_are_data_errors_and_bugs_are_not() -> None:
    assert is_data_error(GroupRejected("unknown tag"))
    assert not is_data_error(KeyError("a bug in commit_group"))
    assert not is_data_error(TypeError("a bug in commit_group"))
    assert not is_data_error(ConnectionResetError())


def test_a_terminated_connection_is_transient(
    pg_conn: psycopg.Connection[Any], pg_dsn: str
) -> None:
    victim = one(pg_conn, "SELECT pg_backend_pid()")
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (victim,))
    with pytest.raises(psycopg.OperationalError) as e:
        pg_conn.execute("SELECT 1")
    assert is_transient(e.value)
    assert e.value.sqlstate in (None, "57P01")
    with pytest.raises(psycopg.OperationalError) as closed:
        pg_conn.execute("SELECT 1")  # and everything after, on the broken connection
    assert is_transient(closed.value)


def test_other_errors_are_classified_by_type() -> None:
    assert is_transient(ConnectionResetError())
    assert is_transient(TimeoutError())
    assert not is_transient(GroupRejected("bad"))
    assert not is_transient(ValueError("bad"))
    assert not is_transient(KeyError("bad"))


def test_a_group_interrupted_by_a_server_crash_commits_once_after_restart(
    private_pg_server: Callable[[], EmbeddedServer],
) -> None:
    server = private_pg_server()
    with psycopg.connect(server.dsn) as c:
        upgrade(c)
        ids = sync_parameters(c, MACHINE, TAGS)
        commit_group(c, uuid.uuid4(), [batch(1, T0)], ids, MACHINE)
    c = psycopg.connect(server.dsn)
    server.kill()
    tx = uuid.uuid4()
    with pytest.raises(psycopg.Error) as e:
        commit_group(c, tx, [batch(2, T0 + 1)], ids, MACHINE)
    assert is_transient(e.value)
    c.close()
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(server.dsn, connect_timeout=2)
    assert is_transient(refused.value)

    server.start()
    with psycopg.connect(server.dsn) as c:
        assert not commit_group(c, tx, [batch(2, T0 + 1)], ids, MACHINE).already_committed
        assert commit_group(c, tx, [batch(2, T0 + 1)], ids, MACHINE).already_committed
        assert counts(c) == (6, 0, 0, 2, 0)
