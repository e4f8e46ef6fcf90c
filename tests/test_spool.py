"""The spool: exact round trip, durability (reopen, kill -9), stable groups, quarantine."""

from __future__ import annotations

import math
import sqlite3
import struct
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.domain.audit import AuditEntry, Meaning, Signature
from ald_gui.domain.refusal import Refusal
from ald_gui.domain.stream import (
    Batch,
    Gap,
    Run,
    RunEnded,
    RunStarted,
    RunStatus,
    StepRecord,
    StreamItem,
)
from ald_gui.store.spool import Spool, SpoolError, SpoolInUse
from tests.waiting import wait_until

T0 = 1_767_225_600_123_456  # 2026-01-01, with microseconds that a float would round


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def _same(a: StreamItem, b: StreamItem) -> bool:
    """Equality that also holds for NaN values (compared bit for bit)."""
    if isinstance(a, Batch) and isinstance(b, Batch):
        return (
            (a.seq, a.sampled_at_us, a.run_id) == (b.seq, b.sampled_at_us, b.run_id)
            and list(a.values) == list(b.values)
            and [_bits(v) for v in a.values.values()] == [_bits(v) for v in b.values.values()]
        )
    return a == b


def _stream(n_batches: int, tags: int = 3) -> list[StreamItem]:
    run = Run(uuid.uuid4(), "ald-1", "jdoe", T0, note="ünïcode", recipe="TMA/H2O")
    items: list[StreamItem] = [RunStarted(0, run)]
    for i in range(n_batches):
        values = {f"comp_{k}.value": float(i * 10 + k) for k in range(tags)}
        items.append(Batch(i + 1, T0 + i * 100_000, values, run.id))
    items.append(RunEnded(n_batches + 1, run.id, T0 + n_batches * 100_000, RunStatus.COMPLETED))
    return items


def test_every_kind_of_item_round_trips_exactly(tmp_path: Path) -> None:
    run = Run(
        uuid.uuid4(), "ald-1", "jdoe", T0, note='quote " and \n newline', recipe="Al2O3",
        recipe_version=2, recipe_sha256="ab" * 32, recipe_snapshot='{"name":"Al2O3"}',
    )  # fmt: skip
    items: list[StreamItem] = [
        RunStarted(1, run),
        Batch(
            2,
            T0 + 1,
            {
                "a.x": math.nan,
                "a.y": math.inf,
                "a.z": -math.inf,
                "b.w": -0.0,
                "b.v": 5e-324,
                "b.u": 1.7976931348623157e308,
            },
            run.id,
        ),
        Batch(3, T0 + 2, {}, None),
        Gap(4, T0 + 3, "PLC unreachable: timed out", run.id),
        StepRecord(
            5,
            run.id,
            "steps[0].loop.steps[1]",
            "pulse",
            (3, 1),
            T0 + 3,
            T0 + 4,
            "done",
            20.0,
            19.875,
            "Valve 2",
        ),
        Refusal(
            6,
            T0 + 4,
            "precursor needs vacuum",
            "valve_1.valve_state",
            1.0,
            "refused by interlock 'precursor needs vacuum': vacuum_pump.power_on is off",
            run.id,
        ),
        AuditEntry(
            7,
            T0 + 5,
            "jdoe",
            "engineer",
            "run abort",
            str(run.id),
            "running",
            "aborted",
            'gas "leak" \n suspected',
            (
                Signature("jdoe", "Jane Doe", Meaning.APPROVED),
                Signature("asmith", "Ann Smith", Meaning.REVIEWED),
            ),
            run.id,
        ),
        RunEnded(8, run.id, T0 + 6, RunStatus.ABORTED, "operator pressed Stop"),
    ]
    with Spool(tmp_path / "spool.db") as spool:
        spool.append(items)
        group = spool.next_group(100)
    assert group is not None
    assert len(group.items) == len(items)
    assert all(_same(a, b) for a, b in zip(items, group.items, strict=True))


@settings(max_examples=50, deadline=None)
@given(
    values=st.dictionaries(st.text(min_size=1, max_size=20), st.floats(), max_size=30),
    seq=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    at=st.integers(min_value=0, max_value=2**62),
)
def test_batches_round_trip_for_any_values(
    tmp_path_factory: pytest.TempPathFactory, values: dict[str, float], seq: int, at: int
) -> None:
    batch = Batch(seq, at, values, uuid.uuid4())
    with Spool(tmp_path_factory.mktemp("spool") / "spool.db") as spool:
        spool.append([batch])
        group = spool.next_group(1)
    assert group is not None
    assert _same(group.items[0], batch)


def test_items_survive_reopen_in_order(tmp_path: Path) -> None:
    items = _stream(20)
    with Spool(tmp_path / "new dir" / "spool.db") as spool:
        spool.append(items[:5])
        spool.append(items[5:])
    with Spool(tmp_path / "new dir" / "spool.db") as spool:
        assert spool.depth() == len(items)
        assert spool.oldest_unsent_us() == T0
        group = spool.next_group(1000)
    assert group is not None
    assert list(group.items) == items


_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ald_gui.domain.stream import Batch
    from ald_gui.store.spool import Spool

    spool = Spool(Path(sys.argv[1]))
    values = {f"comp_{k}.value": float(k) for k in range(200)}
    seq = 0
    while True:
        spool.append([Batch(seq, seq, values), Batch(seq + 1, seq + 1, values)])
        print(seq + 1, flush=True)  # durable from here on
        seq += 2
    """
)


def test_appended_items_survive_kill_9_of_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    acknowledged = -1
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            for line in child.stdout:
                acknowledged = int(line)
                if acknowledged >= 199:
                    break
        finally:
            child.kill()  # SIGKILL: no cleanup, no atexit, maybe mid-transaction
            child.wait(timeout=10)
    assert acknowledged >= 199, "the child died before appending"
    with Spool(path) as spool:
        group = spool.next_group(1_000_000)
    assert group is not None
    seqs = [item.seq for item in group.items]
    # Every acknowledged append is there, whole, in order; at most one more append
    # (committed after the last line was printed) may be there too.
    assert seqs == list(range(len(seqs)))
    assert len(seqs) % 2 == 0
    assert acknowledged + 1 <= len(seqs) <= acknowledged + 3


def test_a_group_keeps_its_id_and_items_until_acknowledged(tmp_path: Path) -> None:
    items = _stream(10)
    with Spool(tmp_path / "spool.db") as spool:
        spool.append(items)
        first = spool.next_group(4)
        assert first is not None
        assert list(first.items) == items[:4]
        spool.append(_stream(2))  # new items do not change a pending group
        assert spool.next_group(100) == first
    with Spool(tmp_path / "spool.db") as spool:  # as after a crash before the ack
        again = spool.next_group(100)
        assert again == first
        spool.acknowledge(again)
        spool.acknowledge(again)  # idempotent
        second = spool.next_group(100)
        assert second is not None
        assert second.transaction_id != first.transaction_id
        assert list(second.items[: len(items) - 4]) == items[4:]
        assert spool.depth() == len(second.items)
        spool.acknowledge(second)
        assert spool.next_group(100) is None
        assert spool.depth() == 0
        assert spool.oldest_unsent_us() is None


def test_group_size_is_limited_by_items_and_by_values(tmp_path: Path) -> None:
    with Spool(tmp_path / "spool.db") as spool:
        spool.append(_stream(10, tags=100))  # RunStarted, 10 × 100 values, RunEnded
        group = spool.next_group(100, max_values=350)
        assert group is not None
        assert [type(i).__name__ for i in group.items] == ["RunStarted"] + ["Batch"] * 3
        spool.acknowledge(group)
        group = spool.next_group(2, max_values=10)  # one item even if it is above the limit
        assert group is not None
        assert len(group.items) == 1
        with pytest.raises(ValueError, match="max_items"):
            spool.next_group(0)


def test_isolate_halves_a_failed_group_until_the_bad_item_stands_alone(tmp_path: Path) -> None:
    items = _stream(14)  # 16 items: RunStarted, 14 batches, RunEnded
    bad = items[6]
    path = tmp_path / "spool.db"
    committed: list[StreamItem] = []
    failures = 0
    with Spool(path) as spool:
        spool.append(items)
    while True:
        # Reopen each round: the bisection must survive a restart.
        with Spool(path) as spool:
            group = spool.next_group(100)
            if group is None:
                break
            if bad in group.items:
                failures += 1
                if len(group.items) == 1:
                    spool.quarantine(group, "unknown tag")
                else:
                    spool.isolate(group)
            else:
                committed.extend(group.items)
                spool.acknowledge(group)
    assert committed == [i for i in items if i is not bad]  # order kept, start first
    assert failures == 5  # 16 → 8 → 4 → 2 → 1, then quarantined
    with Spool(path) as spool:
        [letter] = spool.dead_letters()
        assert spool.dead_letter_count() == 1
        spool.append([items[0]])
        group = spool.next_group(1)
        assert group is not None
        with pytest.raises(ValueError, match="single-item"):
            spool.isolate(group)
    assert letter.item == bad
    assert letter.reason == "unknown tag"


def test_quarantine_keeps_the_items_and_the_stream_goes_on(tmp_path: Path) -> None:
    items = _stream(3)
    with Spool(tmp_path / "spool.db") as spool:
        spool.append(items)
        group = spool.next_group(2)
        assert group is not None
        spool.quarantine(group, "check violation")
        assert spool.depth() == len(items) - 2
        letters = spool.dead_letters()
        assert [d.item for d in letters] == items[:2]
        assert {d.transaction_id for d in letters} == {group.transaction_id}
        rest = spool.next_group(100)
        assert rest is not None
        assert list(rest.items) == items[2:]


def _damage(path: Path, pos: int, body: bytes) -> None:
    """Overwrite one stored row, as a damaged disk or a foreign program might."""
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE spool SET body = ? WHERE pos = ?", (body, pos))
    db.close()


def test_a_row_that_does_not_decode_is_set_aside_raw_and_the_stream_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spool.db"
    items = _stream(6)
    with Spool(path) as spool:
        spool.append(items)
        first = spool.next_group(3)  # the group id is fixed before anything is decoded
        assert first is not None
    _damage(path, 3, b"\x00\xff")  # the third item, a batch, inside that group
    with Spool(path) as spool:
        group = spool.next_group(3)
        assert group is not None
        assert group.transaction_id != first.transaction_id
        assert list(group.items) == [items[0], items[1], items[3]]
        [reason] = spool.take_unreadable()
        assert "spool position 3" in reason and "kind 3 (2 bytes)" in reason
        assert spool.take_unreadable() == []
        assert (spool.depth(), spool.dead_letter_count()) == (len(items) - 1, 1)
        [letter] = spool.dead_letters()
        assert (letter.item, letter.body, letter.position) == (None, b"\x00\xff", 3)
        spool.acknowledge(group)
        rest = spool.next_group(100)
        assert rest is not None and list(rest.items) == items[4:]


def test_a_row_of_an_unknown_kind_or_a_lost_key_list_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    items = _stream(2)
    with Spool(path) as spool:
        spool.append(items)
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE spool SET kind = 99 WHERE pos = 1")
        db.execute("DELETE FROM key_set")  # every batch names a key list that is gone
    db.close()
    with Spool(path) as spool:
        group = spool.next_group(100)
        assert group is not None and list(group.items) == items[-1:]
        reasons = spool.take_unreadable()
        assert len(reasons) == 3 and "kind 99" in reasons[0] and "KeyError" in reasons[1]


def test_bad_input_is_refused_whole(tmp_path: Path) -> None:
    with Spool(tmp_path / "spool.db") as spool:
        with pytest.raises(TypeError, match="cannot spool str"):
            spool.append([_stream(1)[0], "not an item"])  # type: ignore[list-item]
        assert spool.depth() == 0
        assert spool.next_group(10) is None


def test_one_owner_at_a_time_and_no_use_after_close(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    with pytest.raises(SpoolInUse, match="open elsewhere"):
        Spool(path)
    spool.close()
    spool.close()
    with pytest.raises(SpoolError, match="closed"):
        spool.append(_stream(1))
    with Spool(path) as again:
        assert again.depth() == 0


def test_a_spool_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with Spool(path):
        pass
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(SpoolError, match="newer than this program"):
        Spool(path)


def test_its_figures_do_not_wait_for_a_write_in_progress(tmp_path: Path) -> None:
    # Health (on the GUI thread, for GET /status) reads these while the journal thread
    # may be waiting seconds for a stalled disk with the spool's lock held.
    path = tmp_path / "spool.sqlite3"
    items = _stream(3)  # the run's start at T0, batches at T0 + 0, 0.1, 0.2 s, its end
    with Spool(path) as spool:
        spool.append(items[:2])
        stalled = sqlite3.connect(path, isolation_level=None)
        stalled.execute("BEGIN IMMEDIATE")  # SQLite's write lock: the next append waits
        appending = threading.Thread(target=spool.append, args=(items[2:],))
        appending.start()
        try:
            wait_until(spool._lock.locked, 10, "the append to wait with the lock held")
            assert spool.oldest_unsent_us() == T0 and spool.depth() == 2
            assert appending.is_alive()  # answered while the write still waits
        finally:
            stalled.execute("ROLLBACK")
            stalled.close()
            appending.join()
        assert spool.depth() == 5 and spool.oldest_unsent_us() == T0
        group = spool.next_group(2)
        assert group is not None
        spool.acknowledge(group)
        assert spool.oldest_unsent_us() == T0 + 100_000
