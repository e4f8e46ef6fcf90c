"""The registry of stream item kinds (ald_gui.store.kinds): every item of the stream has
exactly one kind, and the spool numbers that released spools hold keep their meaning."""

from __future__ import annotations

import typing

from ald_gui.domain.alarms import AlarmEvent
from ald_gui.domain.stream import Batch, Gap, RunEnded, RunStarted, StepRecord, StreamItem
from ald_gui.store.kinds import BY_NUMBER, BY_TYPE, KINDS


def test_every_stream_item_has_exactly_one_kind() -> None:
    items = set(typing.get_args(StreamItem))
    assert {k.item for k in KINDS} == items
    assert len(KINDS) == len(items) == len(BY_TYPE) == len(BY_NUMBER)


def test_spool_numbers_are_those_spools_were_written_with() -> None:
    # A spool outlives a release: renumbering a kind would misread every row kept.
    assert {n: k.item for n, k in BY_NUMBER.items()} == {
        1: RunStarted, 2: RunEnded, 3: Batch, 4: Gap, 5: StepRecord, 6: AlarmEvent,
    }  # fmt: skip
