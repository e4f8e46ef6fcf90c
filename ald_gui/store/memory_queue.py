"""The writer's items in memory, on their way to the spool: bounded, with any loss told.

Items wait here only while the spool is written, normally milliseconds. When the spool
cannot be written (a full disk, an I/O error) they would pile up until the operating
system killed the process, and everything with it; so the queue holds at most
``max_values`` sample values. Beyond that, batches are dropped, and the drop is never
silent: it is counted, and when the next item is kept, a :class:`Gap` takes the place
of the dropped batches in the stream (the first dropped batch's sequence number, time
and run, so it lies in stream order and inside its run), with a reason naming how many
samples were not recorded and why. Run events and gaps are always kept: they are few
and small, and a run must end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ald_gui.domain.stream import Batch, Gap, StreamItem

__all__ = ["MemoryQueue"]


@dataclass
class _Loss:
    """Batches dropped in a row, from the first one on."""

    seq: int
    at_us: int
    run_id: uuid.UUID | None
    samples: int = 0
    polls: int = 0


class MemoryQueue:
    """Stream items in order, at most ``max_values`` sample values of batches at a time.
    Not thread-safe: the writer guards it with its own lock."""

    def __init__(self, max_values: int) -> None:
        if max_values < 1:
            raise ValueError(f"max_values must be at least 1, not {max_values}")
        self._max = max_values
        self._items: list[StreamItem] = []
        self._values = 0
        self._loss: _Loss | None = None
        self._gaps: list[Gap] = []
        self.samples_lost = 0  # since the start
        self.cause = "spool not writable"  # why items are dropped, said in the gap

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[StreamItem]:
        return iter(self._items)

    @property
    def losing(self) -> bool:
        """True while batches are being dropped (since the last kept item)."""
        return self._loss is not None

    def extend(self, items: Sequence[StreamItem]) -> None:
        """Queue ``items`` in order, dropping batches that would exceed the bound."""
        for item in items:
            if isinstance(item, Batch):
                n = len(item.values)
                if self._values and self._values + n > self._max:
                    self._drop(item)
                    continue
                self._values += n
            self.close_loss()
            self._items.append(item)

    def _drop(self, batch: Batch) -> None:
        if self._loss is None:
            self._loss = _Loss(batch.seq, batch.sampled_at_us, batch.run_id)
        self._loss.samples += len(batch.values)
        self._loss.polls += 1
        self.samples_lost += len(batch.values)

    def close_loss(self) -> None:
        """End the current loss, if any: queue its gap (see the module docstring)."""
        loss, self._loss = self._loss, None
        if loss is None:
            return
        polls = "poll" if loss.polls == 1 else "polls"
        gap = Gap(
            loss.seq,
            loss.at_us,
            f"{self.cause}: {loss.samples:,} samples of {loss.polls:,} {polls} not recorded",
            loss.run_id,
        )
        self._items.append(gap)
        self._gaps.append(gap)

    def take_gaps(self) -> list[Gap]:
        """The gaps queued for losses since the last call, to be told."""
        gaps, self._gaps = self._gaps, []
        return gaps

    def snapshot(self) -> list[StreamItem]:
        return list(self._items)

    def forget(self, count: int) -> None:
        """Drop the first ``count`` items: they are in the spool now."""
        gone, self._items = self._items[:count], self._items[count:]
        self._values -= sum(len(i.values) for i in gone if isinstance(i, Batch))
