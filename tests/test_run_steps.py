"""Recipe steps and a run's recipe through the stream: spool, commit, replay, doctor.

A step (domain.stream.StepRecord) is recorded like a sample: journaled exactly, committed
in its group's transaction and counted by the ledger, once whatever replays, refused by
name when its run never started, and checked by doctor to lie inside its run
(invariant 8).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.domain.recipe import Pulse, Purge, Recipe, Step
from ald_gui.domain.stream import Run, RunEnded, RunStarted, RunStatus, StepRecord, StreamItem
from ald_gui.store.commit import GroupRejected, commit_group
from ald_gui.store.invariants import check_data, check_invariants
from ald_gui.store.kinds import run_started
from ald_gui.store.spool import Spool
from ald_gui.store.spool_items import decode_item
from ald_gui.store.writer import Writer
from tests.test_invariants import MACHINE as HISTORY_MACHINE
from tests.test_invariants import RUN_END, RUN_START, History, _at, _close_orphans
from tests.test_writer import MACHINE, TAGS, Stream, _assert_whole, _drained
from tests.waiting import wait_until

T0 = 1_767_225_600_123_456

RECIPE = Recipe(
    name="Al2O3",
    version=3,
    steps=(Step.of(Pulse(valve="Valve 1", ms=20)), Step.of(Purge(ms=3000))),
)


def _recipe_run(started_at_us: int = T0, machine: str = MACHINE) -> Run:
    return Run(
        uuid.uuid4(), machine, "jdoe", started_at_us, note="n", recipe=RECIPE.name,
        recipe_version=RECIPE.version, recipe_sha256=RECIPE.sha256,
        recipe_snapshot=RECIPE.canonical(),
    )  # fmt: skip


def _pulse(seq: int, run: Run, start_us: int, end_us: int, cycle: int = 1) -> StepRecord:
    return StepRecord(
        seq, run.id, "steps[0].loop.steps[0]", "pulse", (cycle,), start_us, end_us,
        requested_ms=20.0, measured_ms=20.4, detail="Valve 1",
    )  # fmt: skip


# -- the spool ------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
_lengths = st.none() | st.floats(allow_nan=False) | st.just(math.inf)


@settings(max_examples=60, deadline=None)
@given(
    seq=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    times=st.tuples(st.integers(0, 2**62), st.integers(0, 2**62)),
    path=_text,
    kind=_text,
    cycles=st.lists(st.integers(1, 2**31 - 1), max_size=6).map(tuple),
    outcome=_text,
    requested=_lengths,
    measured=_lengths,
    detail=_text,
)
def test_steps_round_trip_through_the_spool_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    seq: int,
    times: tuple[int, int],
    path: str,
    kind: str,
    cycles: tuple[int, ...],
    outcome: str,
    requested: float | None,
    measured: float | None,
    detail: str,
) -> None:
    step = StepRecord(
        seq, uuid.uuid4(), path, kind, cycles, min(times), max(times), outcome, requested,
        measured, detail,
    )  # fmt: skip
    with Spool(tmp_path_factory.mktemp("spool") / "spool.db") as spool:
        spool.append([step])
        group = spool.next_group(1)
    assert group is not None
    [back] = group.items
    assert back == step and isinstance(back, StepRecord) and type(back.cycles) is tuple


def test_a_runs_recipe_round_trips_through_the_spool(tmp_path: Path) -> None:
    run = _recipe_run()
    without = Run(uuid.uuid4(), MACHINE, "jdoe", T0 + 10)
    with Spool(tmp_path / "spool.db") as spool:
        spool.append([RunStarted(1, run), RunStarted(2, without)])
        group = spool.next_group(10)
    assert group is not None
    assert [i.run for i in group.items if isinstance(i, RunStarted)] == [run, without]


def test_a_run_start_spooled_before_runs_carried_their_recipe_still_decodes() -> None:
    run_id = uuid.uuid4()
    # The body exactly as the previous release wrote it: no recipe version, hash, snapshot.
    old = json.dumps({
        "seq": 7, "id": str(run_id), "machine": "ald-1", "operator": "jdoe",
        "started_at_us": T0, "note": "", "recipe": "TMA/H2O",
    }).encode()  # fmt: skip
    item = decode_item(run_started.KIND.number, old, lambda _: ())
    assert item == RunStarted(7, Run(run_id, "ald-1", "jdoe", T0, recipe="TMA/H2O"))
    assert isinstance(item, RunStarted)
    assert (item.run.recipe_version, item.run.recipe_sha256, item.run.recipe_snapshot) == (
        None, "", "",
    )  # fmt: skip


# -- commit and replay ---------------------------------------------------------------


@pytest.fixture
def history(migrated_pg_dsn: str) -> Iterator[History]:
    with psycopg.connect(migrated_pg_dsn) as conn:
        h = History(conn)
        conn.autocommit = True
        yield h


def _steps(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT run_id, seq, path, kind, cycles, started_at, ended_at, outcome, requested_ms,"
        " measured_ms, detail FROM run_steps ORDER BY seq"
    ).fetchall()


def test_a_group_with_steps_commits_them_once_and_its_replay_writes_nothing(
    history: History,
) -> None:
    conn, run = history.conn, _recipe_run(RUN_END + 1_000_000, HISTORY_MACHINE)
    s = history._next
    items: list[StreamItem] = [
        RunStarted(s(), run),
        _pulse(s(), run, RUN_END + 1_000_000, RUN_END + 1_020_400),
        history._batch(RUN_END + 1_500_000, run.id),
        StepRecord(
            s(),
            run.id,
            "steps[1]",
            "purge",
            (),
            RUN_END + 1_020_400,
            RUN_END + 4_020_400,
            "aborted",
            requested_ms=3000.0,
        ),
        RunEnded(s(), run.id, RUN_END + 4_100_000, RunStatus.ABORTED, "operator"),
    ]
    tx = uuid.uuid4()
    first = commit_group(conn, tx, items, history.ids, HISTORY_MACHINE)
    again = commit_group(conn, tx, items, history.ids, HISTORY_MACHINE)  # ack lost
    assert (first.rows["step_rows"], first.already_committed) == (2, False)
    assert (again.rows["step_rows"], again.already_committed) == (2, True)
    assert _steps(conn) == [
        (run.id, items[1].seq, "steps[0].loop.steps[0]", "pulse", [1],
         _at(RUN_END + 1_000_000), _at(RUN_END + 1_020_400), "done", 20.0, 20.4, "Valve 1"),
        (run.id, items[3].seq, "steps[1]", "purge", [], _at(RUN_END + 1_020_400),
         _at(RUN_END + 4_020_400), "aborted", 3000.0, None, ""),
    ]  # fmt: skip
    ledger = conn.execute(
        "SELECT step_rows FROM write_transactions WHERE transaction_id = %s", (tx,)
    ).fetchone()
    assert ledger == (2,)
    stored = conn.execute(
        "SELECT recipe_name, recipe_version, recipe_sha256, recipe_snapshot"
        " FROM process_executions WHERE id = %s",
        (run.id,),
    ).fetchone()
    assert stored is not None
    assert stored[:3] == (RECIPE.name, RECIPE.version, RECIPE.sha256)
    assert Recipe.model_validate(stored[3]).sha256 == RECIPE.sha256  # the snapshot is whole
    assert check_data(conn, HISTORY_MACHINE).violations == []
    assert check_data(conn, HISTORY_MACHINE).checked.figures()["steps"] == 2


def test_steps_in_a_later_group_than_their_run_start_commit(history: History) -> None:
    step = _pulse(history._next(), history.run, RUN_START + 1, RUN_START + 20_001)
    history._commit([step])  # the good run ended already: its step lies inside it
    assert len(_steps(history.conn)) == 1
    assert check_invariants(history.conn, HISTORY_MACHINE) == []


@pytest.mark.parametrize("started_elsewhere", [False, True])
def test_a_step_whose_run_never_started_is_rejected_and_nothing_is_written(
    history: History, started_elsewhere: bool
) -> None:
    other = Run(uuid.uuid4(), "ald-2", "bob", RUN_END + 1_000)
    if started_elsewhere:  # a run of another machine is not this machine's run
        commit_group(history.conn, uuid.uuid4(), [RunStarted(1, other)], {}, "ald-2")
    before = history.conn.execute("SELECT count(*) FROM write_transactions").fetchone()
    items: list[StreamItem] = [
        history._batch(RUN_END + 1_000),
        _pulse(history._next(), other, RUN_END + 2_000, RUN_END + 3_000),
    ]
    with pytest.raises(GroupRejected, match=rf"names run {other.id}, which never started"):
        commit_group(history.conn, uuid.uuid4(), items, history.ids, HISTORY_MACHINE)
    assert _steps(history.conn) == []
    assert history.conn.execute("SELECT count(*) FROM write_transactions").fetchone() == before


def test_a_step_ending_before_it_starts_is_rejected(history: History) -> None:
    step = _pulse(history._next(), history.run, RUN_START + 5, RUN_START + 4)
    with pytest.raises(GroupRejected, match=r"steps\[0\]\.loop\.steps\[0\] .* ends before"):
        history._commit([step])


def test_the_writer_sets_aside_a_step_of_an_unknown_run_and_records_the_rest(
    migrated_pg_dsn: str, tmp_path: Path
) -> None:
    s = Stream()
    start = s.start()
    assert s.run is not None
    good = s.batches(2)
    step = _pulse(s._next(), s.run, s.t - 50_000, s.t)
    stray = _pulse(s._next(), _recipe_run(), s.t - 10, s.t)  # a run nobody started
    good += s.batches(2)
    end = s.end()
    with Spool(tmp_path / "spool.db") as spool:
        writer = Writer(migrated_pg_dsn, spool, MACHINE, TAGS)
        writer.submit([start, *good[:2], step, stray, *good[2:], end])  # one group
        writer.start()
        try:
            wait_until(lambda: _drained(writer), 10, "the spool to drain")
        finally:
            assert writer.stop()
        [letter] = spool.dead_letters()
    assert letter.item == stray and "never started" in letter.reason
    _assert_whole(migrated_pg_dsn, good)
    with psycopg.connect(migrated_pg_dsn) as conn:
        assert [row[1] for row in _steps(conn)] == [step.seq]


def test_a_run_left_open_ends_after_its_last_step(history: History) -> None:
    """A console killed at the end of a pulse: the run's last record is the step."""
    run = _recipe_run(RUN_END + 1_000_000, HISTORY_MACHINE)
    last = RUN_END + 3_000_000
    history._commit([RunStarted(history._next(), run),
                     history._batch(RUN_END + 2_000_000, run.id),
                     _pulse(history._next(), run, RUN_END + 2_500_000, last)])  # fmt: skip
    assert _close_orphans(history.conn) == [run.id]
    ended = history.conn.execute(
        "SELECT ended_at FROM process_executions WHERE id = %s", (run.id,)
    ).fetchone()
    assert ended == (_at(last + 1),)
    assert check_invariants(history.conn, HISTORY_MACHINE) == []


# -- doctor (invariant 8) --------------------------------------------------------------


def _seed_step(h: History, run_id: uuid.UUID, start_us: int, end_us: int, seq: int,
               tx: uuid.UUID) -> None:  # fmt: skip
    """A step row as nothing of the console writes it: as the schema's owner."""
    h.conn.execute("SET ROLE ald_owner")
    h.conn.execute(
        "INSERT INTO run_steps (machine, run_id, seq, path, kind, cycles, started_at,"
        " ended_at, outcome, transaction_id)"
        " VALUES (%s, %s, %s, 'steps[0]', 'pulse', '{1}', %s, %s, 'done', %s)",
        (HISTORY_MACHINE, run_id, seq, _at(start_us), _at(end_us), tx),
    )
    h.conn.execute("RESET ROLE")


def _steps_ledger(h: History, steps: int = 1) -> tuple[uuid.UUID, int]:
    """A ledger row counting ``steps`` steps, and the seq it covers."""
    tx, seq = uuid.uuid4(), h._next()
    h.conn.execute(
        "INSERT INTO write_transactions (transaction_id, machine, history_rows, run_rows,"
        " gap_rows, step_rows, first_seq, last_seq) VALUES (%s, %s, 0, 0, 0, %s, %s, %s)",
        (tx, HISTORY_MACHINE, steps, seq, seq),
    )
    return tx, seq


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (RUN_START - 1, RUN_START + 10),  # starts before its run
        (RUN_END - 10, RUN_END + 1),  # ends after its run
        (RUN_END + 1_000, RUN_END + 2_000),  # wholly after
    ],
)
def test_doctor_finds_a_step_outside_its_run(history: History, start: int, end: int) -> None:
    tx, seq = _steps_ledger(history)
    _seed_step(history, history.run.id, start, end, seq, tx)
    assert history.broken_rules() == {(8, "recipe step outside its run's interval"): 1}


def test_a_step_ending_with_its_run_is_inside_it(history: History) -> None:
    tx, seq = _steps_ledger(history)
    _seed_step(history, history.run.id, RUN_START, RUN_END, seq, tx)
    assert history.broken_rules() == {}


def test_doctor_finds_a_step_the_ledger_does_not_count(history: History) -> None:
    tx, seq = _steps_ledger(history, steps=0)
    _seed_step(history, history.run.id, RUN_START + 1, RUN_START + 2, seq, tx)
    [violation] = check_invariants(history.conn, HISTORY_MACHINE)
    assert (violation.invariant, violation.count) == (3, 1)
    assert violation.rule == "ledger row whose counts differ from the rows of its transaction"
    assert (violation.examples[0]["step_rows"], violation.examples[0]["step_rows_found"]) == (
        "0", "1",
    )  # fmt: skip


def test_doctor_finds_a_step_outside_its_groups_stream_range(history: History) -> None:
    tx, seq = _steps_ledger(history)
    _seed_step(history, history.run.id, RUN_START + 1, RUN_START + 2, seq + 100, tx)
    assert history.broken_rules() == {
        (8, "recipe step outside its transaction's stream range, or without a ledger row"): 1
    }


def test_doctor_finds_a_step_stored_twice_and_one_without_its_run(history: History) -> None:
    # As a restore with triggers disabled and a schema without the key would store them.
    history.conn.execute("ALTER TABLE run_steps DROP CONSTRAINT run_steps_machine_seq_key")
    history.conn.execute("SET session_replication_role = replica")  # foreign keys unchecked
    tx, seq = _steps_ledger(history, steps=3)
    for run_id in (history.run.id, history.run.id, uuid.uuid4()):
        _seed_step(history, run_id, RUN_START + 1, RUN_START + 2, seq, tx)
    assert history.broken_rules() == {
        (8, "recipe step stored more than once"): 1,
        (8, "recipe step naming a run that has no row"): 1,
    }
