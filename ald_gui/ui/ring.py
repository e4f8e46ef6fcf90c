"""A fixed-capacity history of samples in preallocated numpy storage, for the trends.

Each row is a time (float64 seconds since the epoch) and one float64 value per column.
Rows are appended at the end of a buffer ``capacity + slack`` rows long; when the end is
reached the newest ``capacity - 1`` rows are copied into a *new* buffer. So:

- ``times()`` and ``column(i)`` are contiguous, zero-copy views, oldest row first, ready
  to hand to ``PlotDataItem.setData`` every frame without copying;
- a view handed out is never written again (appends go past its end; a reallocation
  leaves the old buffer alone), so a curve holding one can never see torn data;
- ``generation`` counts reallocations: whoever holds views of an older generation
  should take fresh ones so the old buffer can be freed (a reallocation happens once
  every ``slack`` appends: a quarter of the capacity).

Memory: ``(capacity + slack) × (columns + 1) × 8`` bytes, plus the same again for a
moment while a reallocation copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["Ring"]


class Ring:
    """The newest ``capacity`` rows of ``columns`` values, oldest dropped first.

    Raises ValueError on a capacity or column count below 1.
    """

    def __init__(self, columns: int, capacity: int) -> None:
        if columns < 1:
            raise ValueError(f"a ring needs at least one column, got {columns}")
        if capacity < 1:
            raise ValueError(f"a ring needs a capacity of at least one row, got {capacity}")
        self.columns = columns
        self.capacity = capacity
        self.slack = max(1, capacity // 4)
        self.generation = 0
        self.appended = 0  # rows ever appended: the newest row's number is appended - 1
        self._start = 0  # first live row in the buffer
        self._end = 0  # one past the last live row
        self._allocate()

    def _allocate(self) -> None:
        rows = self.capacity + self.slack
        self._t = np.empty(rows, dtype=np.float64)
        # One row per column, so each column's history is contiguous for setData.
        self._v = np.empty((self.columns, rows), dtype=np.float64)

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def nbytes(self) -> int:
        """Bytes held by the storage (not counting a reallocation in progress)."""
        return int(self._t.nbytes + self._v.nbytes)

    @property
    def first_time(self) -> float | None:
        return float(self._t[self._start]) if len(self) else None

    @property
    def last_time(self) -> float | None:
        return float(self._t[self._end - 1]) if len(self) else None

    def append(self, t: float, values: Sequence[float] | np.ndarray) -> None:
        """Add one row at time ``t``, dropping the oldest row if the ring is full.

        Raises ValueError if ``t`` is not later than the last row's time or ``values``
        does not hold exactly one value per column; the ring is unchanged then.
        """
        last = self.last_time
        if last is not None and not t > last:
            raise ValueError(f"sample time {t!r} is not after the last one ({last!r})")
        row = np.asarray(values, dtype=np.float64)
        if row.shape != (self.columns,):
            raise ValueError(f"expected {self.columns} values, got shape {row.shape}")
        if self._end == self._t.shape[0]:
            self._reallocate()
        self._t[self._end] = t
        self._v[:, self._end] = row
        self._end += 1
        self.appended += 1
        if self._end - self._start > self.capacity:
            self._start += 1

    def _reallocate(self) -> None:
        # Keep capacity - 1 rows so that, after the append that needs the room, the
        # ring holds exactly capacity rows again.
        keep = self.capacity - 1
        old_t, old_v = self._t, self._v
        old_end = self._end
        self._allocate()
        if keep:
            self._t[:keep] = old_t[old_end - keep : old_end]
            self._v[:, :keep] = old_v[:, old_end - keep : old_end]
        self._start, self._end = 0, keep
        self.generation += 1

    def times(self) -> np.ndarray:
        """Read-only view of the row times, oldest first."""
        return _frozen(self._t[self._start : self._end])

    def column(self, index: int) -> np.ndarray:
        """Read-only view of one column's values, oldest first. IndexError if unknown."""
        if not 0 <= index < self.columns:
            raise IndexError(f"column {index} out of range 0..{self.columns - 1}")
        return _frozen(self._v[index, self._start : self._end])

    def values(self) -> np.ndarray:
        """Read-only view of all columns, shape (columns, rows), oldest row first."""
        return _frozen(self._v[:, self._start : self._end])

    def row_at(self, t: float) -> tuple[float, np.ndarray] | None:
        """The last row at or before ``t`` (its time and a copy of its values), or None
        if ``t`` is before the oldest row."""
        times = self._t[self._start : self._end]
        i = int(np.searchsorted(times, t, side="right")) - 1
        if i < 0:
            return None
        return float(times[i]), self._v[:, self._start + i].copy()


def _frozen(view: np.ndarray) -> np.ndarray:
    view.flags.writeable = False
    return view
