"""The writer's bounded memory queue: what it keeps, what it drops, and the gap it leaves."""

from __future__ import annotations

import uuid

import pytest

from ald_gui.domain.stream import Batch, Gap, RunEnded, RunStatus
from ald_gui.store.memory_queue import MemoryQueue

RUN = uuid.uuid4()


def _batch(seq: int, tags: int = 10) -> Batch:
    return Batch(seq, 1_000 * seq, {f"t{k}.value": float(seq) for k in range(tags)}, RUN)


def test_batches_beyond_the_bound_are_dropped_and_a_gap_takes_their_place() -> None:
    queue = MemoryQueue(max_values=30)
    queue.cause = "spool full"
    queue.extend([_batch(s) for s in range(1, 6)])  # room for three
    assert [i.seq for i in queue] == [1, 2, 3] and queue.losing
    assert queue.samples_lost == 20
    end = RunEnded(6, RUN, 6_000, RunStatus.COMPLETED)
    queue.extend([end])  # a run event is always kept, after the gap of what was lost
    items = list(queue)
    assert items[3] == Gap(4, 4_000, "spool full: 20 samples of 2 polls not recorded", RUN)
    assert items[4] == end and not queue.losing
    assert queue.take_gaps() == [items[3]] and queue.take_gaps() == []
    seqs = [i.seq for i in items]
    assert seqs == sorted(seqs)  # the stream order holds: the gap has a dropped seq


def test_room_made_by_the_spool_is_used_again() -> None:
    queue = MemoryQueue(max_values=20)
    queue.extend([_batch(1), _batch(2), _batch(3)])
    assert len(queue) == 2 and queue.samples_lost == 10
    queue.forget(2)  # journaled
    queue.extend([_batch(4)])
    assert [type(i).__name__ for i in queue] == ["Gap", "Batch"]
    queue.extend([_batch(5, tags=50)])  # bigger than the bound, queue not empty: dropped
    queue.forget(2)
    queue.extend([_batch(6, tags=50)])  # an empty queue always takes one batch
    assert [i.seq for i in queue] == [5, 6] and queue.samples_lost == 60


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_values"):
        MemoryQueue(0)
