"""Per-column min/max summaries of a ``Ring``, so a frame's cost does not grow with the
window: what the trends draw is reduced to the plot's pixel columns here, exactly.

Rows are numbered from the first ever appended (``Ring.appended``), so the ring's
reallocations do not matter. Block ``k`` of level ``L`` covers rows ``[k·2^L, (k+1)·2^L)``
and holds, per column, the smallest and largest value (NaN left out) and whether a NaN
is among them. Levels from ``FIRST_STORED`` up are kept in circular arrays (a slot per
block, ``capacity >> L`` blocks and a few spare); the levels below are read from the
ring's rows. ``update`` brings the levels up to the newest row: only the blocks that new
rows touched are computed again, so it costs a few small numpy calls per frame.

``reduce`` answers one pixel column's rows ``[a, b)`` the way a segment tree does: at
most two blocks per level, all columns and curves at once, a few dozen numpy calls
whatever the window. Each column becomes two points, its minimum and its maximum (the
one nearer its first sample first), at the times of its first and last sample, and a
third, NaN, where the column holds a NaN (an outage: ``connect="finite"`` breaks the
line there). So the points in every pixel column have the raw rows' min and max, and
the drawn line has the raw line's extent in every column (tests/test_ui_ring_peaks.py).

Memory: about ``capacity / 4 × 17`` bytes per column (levels 3 and up), a fifth of the
ring's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ald_gui.ui.ring import Ring

__all__ = ["BYTES_PER_ROW_AND_COLUMN", "FIRST_STORED", "PeakPyramid", "same_picture"]

FIRST_STORED = 3  # blocks of 8 rows and longer are stored; shorter ones read from rows
SPARE_SLOTS = 4  # per level: the blocks an update may touch span capacity >> L + 3
BYTES_PER_ROW_AND_COLUMN = 17 / 2**FIRST_STORED * 2  # min, max (8 + 8) and NaN (1)


class PeakPyramid:
    """Min/max summaries of every column of ``ring``. Call ``update`` after appending
    (``reduce`` does it too)."""

    def __init__(self, ring: Ring) -> None:
        self.ring = ring
        columns = ring.columns
        self._levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for level in range(FIRST_STORED, ring.capacity.bit_length() + 2):
            slots = (ring.capacity >> level) + SPARE_SLOTS
            self._levels.append(
                (
                    np.full((columns, slots), np.nan),
                    np.full((columns, slots), np.nan),
                    np.zeros((columns, slots), dtype=bool),
                )
            )
        self._done = 0  # rows summarised: blocks holding rows from here on are redone
        # The last query's pixel columns, by their rows (numbered as ``Ring.appended``):
        # (curves, first rows, ends, min, max, NaN). Rows never change once appended, so
        # a column holding the same rows again is taken from here, not summed again.
        self._columns: (
            tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
            | None
        ) = None

    @property
    def nbytes(self) -> int:
        return sum(mn.nbytes + mx.nbytes + nan.nbytes for mn, mx, nan in self._levels)

    def update(self) -> None:
        """Summarise the rows appended since the last call."""
        end = self.ring.appended
        first = end - len(self.ring)
        start = max(self._done, first)
        if start >= end:
            return
        rows = self.ring.values()
        size = 1 << FIRST_STORED
        lo, hi = start >> FIRST_STORED, (end - 1) >> FIRST_STORED
        r0 = lo << FIRST_STORED
        flat = np.full((self.ring.columns, (hi + 1 - lo) * size), np.nan)
        s = max(r0, first)
        flat[:, s - r0 : end - r0] = rows[:, s - first : end - first]
        # Blocks reaching before the oldest row or past the newest get NaN padding and a
        # wrong NaN flag: harmless, reduce only uses blocks lying wholly between the two.
        block = flat.reshape(self.ring.columns, -1, size)
        mn, mx, nan = self._levels[0]
        ids = np.arange(lo, hi + 1) % mn.shape[1]
        mn[:, ids] = np.fmin.reduce(block, axis=2)
        mx[:, ids] = np.fmax.reduce(block, axis=2)
        nan[:, ids] = np.isnan(block).any(axis=2)
        for below, above in zip(self._levels, self._levels[1:], strict=False):
            lo, hi = lo >> 1, hi >> 1
            blocks = np.arange(lo, hi + 1)
            left, right = (2 * blocks) % below[0].shape[1], (2 * blocks + 1) % below[0].shape[1]
            ids = blocks % above[0].shape[1]
            above[0][:, ids] = np.fmin(below[0][:, left], below[0][:, right])
            above[1][:, ids] = np.fmax(below[1][:, left], below[1][:, right])
            above[2][:, ids] = below[2][:, left] | below[2][:, right]
        self._done = end

    def _extremes(
        self, rows: np.ndarray, first: int, curves: np.ndarray, a: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Min, max and NaN flag of rows ``[a, b)`` (row numbers, each range not empty),
        shape (curves, ranges). The blocks covering each range are found level by level
        on the row numbers alone (at most two per level), then read in one gather per
        level and folded per range with one ``reduceat``."""
        a, b = a.copy(), b.copy()
        ranges = len(a)
        where = np.arange(ranges)
        raw_rows: list[np.ndarray] = []  # levels below FIRST_STORED: their rows
        raw_of: list[np.ndarray] = []
        blocks: list[tuple[int, np.ndarray, np.ndarray]] = []  # (level, ids, ranges)
        level = 0
        while len(a):
            for side in (0, 1):
                take = (a < b) & (((a if side == 0 else b) & 1) == 1)
                if side == 1:
                    b[take] -= 1
                ids, of = (a if side == 0 else b)[take], where[take]
                if side == 0:
                    a[take] += 1
                if not len(ids):
                    continue
                if level < FIRST_STORED:
                    size = 1 << level
                    raw_rows.append(((ids << level)[:, None] + np.arange(size)).ravel())
                    raw_of.append(np.repeat(of, size))
                else:
                    blocks.append((level, ids, of))
            a >>= 1
            b >>= 1
            level += 1
            going = a < b
            a, b, where = a[going], b[going], where[going]
        parts_mn, parts_mx, parts_nan, parts_of = [], [], [], []
        if raw_rows:
            values = rows[np.ix_(curves, np.concatenate(raw_rows) - first)]
            parts_mn.append(values)
            parts_mx.append(values)
            parts_nan.append(np.isnan(values))
            parts_of.append(np.concatenate(raw_of))
        for level, ids, of in blocks:
            lmn, lmx, lnan = self._levels[level - FIRST_STORED]
            pick = np.ix_(curves, ids % lmn.shape[1])
            parts_mn.append(lmn[pick])
            parts_mx.append(lmx[pick])
            parts_nan.append(lnan[pick])
            parts_of.append(of)
        of = np.concatenate(parts_of)
        order = np.argsort(of, kind="stable")
        bounds = np.searchsorted(of[order], np.arange(ranges))
        mn = np.fmin.reduceat(np.concatenate(parts_mn, axis=1)[:, order], bounds, axis=1)
        mx = np.fmax.reduceat(np.concatenate(parts_mx, axis=1)[:, order], bounds, axis=1)
        nan = np.logical_or.reduceat(np.concatenate(parts_nan, axis=1)[:, order], bounds, axis=1)
        return mn, mx, nan

    def reduce(
        self, lo: float, hi: float, width: int, curves: Sequence[int]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """What to draw of ``curves`` (ring columns) for the time range ``lo..hi`` on
        ``width`` pixel columns: times and values, per curve. The rows
        just outside each edge are kept, so lines run to the edges. When the range holds
        no more rows than two per pixel column, these are the ring's rows themselves
        (read-only views): all of them if the ring holds no more than that."""
        self.update()
        times = self.ring.times()
        rows = self.ring.values()
        first = self.ring.appended - len(times)
        width = max(1, int(width))
        edges = lo + (hi - lo) * np.arange(width + 1) / width
        cut = np.searchsorted(times, edges, side="left")
        before, after = max(int(cut[0]) - 1, 0), min(int(cut[-1]) + 1, len(times))
        if len(times) <= 2 * width:  # all of it, there to pan to
            before, after = 0, len(times)
        if cut[-1] - cut[0] <= 2 * width:
            return [(times[before:after], rows[c, before:after]) for c in curves]
        starts, stops = cut[:-1], cut[1:]
        filled = stops > starts
        starts, stops = starts[filled], stops[filled]
        wanted = np.asarray(curves, dtype=np.intp)
        mn, mx, nan = self._column_extremes(rows, first, wanted, starts + first, stops + first)
        return self._points(times, rows, wanted, starts, stops, before, after, mn, mx, nan)

    def _column_extremes(
        self, rows: np.ndarray, first: int, curves: np.ndarray, a: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``_extremes`` of the pixel columns ``[a, b)``, reusing the last query's columns
        that hold the same rows. Following live, the window moves a whole pixel column at
        a time (TrendView snaps it), so only the newest column and the one entering are
        summed: the frame's cost does not grow with the columns either."""
        key = tuple(int(c) for c in curves)
        mn = np.empty((len(curves), len(a)))
        mx = np.empty_like(mn)
        nan = np.empty(mn.shape, dtype=bool)
        hit = np.zeros(len(a), dtype=bool)
        last = self._columns
        if last is not None and last[0] == key and len(last[1]):
            at = np.minimum(np.searchsorted(last[1], a), len(last[1]) - 1)
            hit = (last[1][at] == a) & (last[2][at] == b)
            mn[:, hit], mx[:, hit], nan[:, hit] = (part[:, at[hit]] for part in last[3:])
        miss = ~hit
        if miss.any():
            mn[:, miss], mx[:, miss], nan[:, miss] = self._extremes(
                rows, first, curves, a[miss], b[miss]
            )
        self._columns = (key, a, b, mn, mx, nan)
        return mn, mx, nan

    @staticmethod
    def _points(
        times: np.ndarray,
        rows: np.ndarray,
        curves: np.ndarray,
        starts: np.ndarray,
        stops: np.ndarray,
        before: int,
        after: int,
        mn: np.ndarray,
        mx: np.ndarray,
        nan: np.ndarray,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        opening = rows[np.ix_(curves, starts)]
        low_first = (opening - mn) <= (mx - opening)
        second = np.where(low_first, mx, mn)
        values = np.stack(
            [np.where(low_first, mn, mx), second, np.where(nan, np.nan, second)], axis=2
        )
        at = np.stack([times[starts], times[stops - 1], times[stops - 1]], axis=1)
        keep = np.ones(at.shape, dtype=bool)
        head, tail = slice(before, starts[0]), slice(stops[-1], after)
        out = []
        for i, c in enumerate(curves):
            keep[:, 2] = nan[i]  # the breaking point only where this curve has a NaN
            t = np.concatenate([times[head], at[keep], times[tail]])
            out.append((t, np.concatenate([rows[c, head], values[i][keep], rows[c, tail]])))
        return out


def same_picture(
    old: tuple[np.ndarray, np.ndarray],
    new: tuple[np.ndarray, np.ndarray],
    lo: float,
    hi: float,
    width: int,
) -> bool:
    """Whether two ``reduce`` answers for the same window and width draw the same in
    every pixel column: the same values in order, at the same times, except the last
    points, which may have moved right within their pixel column after a point of that
    column that stayed (a sample joined the live edge's column without changing its
    min or max: every line drawn stays inside that column, between the same values)."""
    (ot, ov), (nt, nv) = old, new
    if len(ot) != len(nt) or not np.array_equal(ov, nv, equal_nan=True):
        return False
    moved = np.flatnonzero(ot != nt)
    if not len(moved):
        return True
    start = int(moved[0])
    if start == 0 or not (np.all(ot[start:] == ot[-1]) and np.all(nt[start:] == nt[-1])):
        return False
    step = (hi - lo) / width
    column = int((ot[start - 1] - lo) // step)
    return (
        0 <= column < width
        and int((ot[-1] - lo) // step) == column
        and int((nt[-1] - lo) // step) == column
    )
