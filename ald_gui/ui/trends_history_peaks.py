"""What the back-fill draws of a history answer: about two points per pixel column,
made on the query thread, so the GUI thread only hands ready arrays to the plot.

The historian answers a span with its raw rows (up to four per pixel column) or with
the M4 reduction (up to four points per column: first, last, lowest, highest). Drawn
as a line, two points per column cover the same pixels: the column's lowest and
highest value, the one nearer its first sample first, at the times of its first and
last sample, and a third, NaN, at the column's last time where it holds a NaN
(``connect="finite"`` breaks the line at the column's end) -- what ``ring_peaks`` hands
the live curves, so history and ring look alike and cost a frame alike. Pure numpy, no
Qt: it runs off the GUI thread.
"""

from __future__ import annotations

import numpy as np

from ald_gui.store.history import Series, column_us

__all__ = ["POINTS_PER_COLUMN", "column_peaks", "for_drawing"]

POINTS_PER_COLUMN = 2  # an answer denser than this on average is reduced to it


def for_drawing(
    series: Series, start_us: int, end_us: int, width_px: int
) -> tuple[np.ndarray, np.ndarray]:
    """``series`` (asked for ``[start_us, end_us)`` at ``width_px`` pixels) as the plot
    takes it: times in seconds since the epoch and values, float64, in time order. As
    fetched when it holds at most two points per pixel column, else ``column_peaks`` on
    the columns it was reduced on (the raw span's own columns for raw rows). So at
    most two points per pixel column on average whatever the span (three in a column
    that holds a NaN); an answer drawn as fetched may crowd one busy column. Raises
    ValueError like ``column_us`` for an empty span or a width below one pixel."""
    if len(series) <= POINTS_PER_COLUMN * width_px:
        return series.t_us / 1e6, series.values
    if series.columns is not None:
        origin_us, width_us = series.columns.origin_us, series.columns.column_us
    else:
        origin_us, width_us = start_us, column_us(start_us, end_us, width_px)
    return column_peaks(series.t_us, series.values, origin_us, width_us)


def column_peaks(
    t_us: np.ndarray, values: np.ndarray, origin_us: int, width_us: int
) -> tuple[np.ndarray, np.ndarray]:
    """Two points per pixel column of the rows ``t_us`` (int64 µs, in time order) and
    ``values``, column ``j`` covering ``[origin_us + j·width_us, origin_us + (j+1)·width_us)``,
    plus a NaN point where a column holds a NaN. Times come back in seconds. The
    lowest and highest value of a column leave NaN out (NaN if it holds only NaN)."""
    if not len(t_us):
        return np.empty(0), np.empty(0)
    column = (t_us - origin_us) // width_us
    starts = np.flatnonzero(np.concatenate(([True], column[1:] != column[:-1])))
    lasts = np.concatenate((starts[1:], [len(t_us)])) - 1
    # fmin/fmax leave NaN out, and give NaN for a column of NaN only, without a warning.
    low = np.fmin.reduceat(values, starts)
    high = np.fmax.reduceat(values, starts)
    broken = np.logical_or.reduceat(np.isnan(values), starts)
    opening = values[starts]
    low_first = (opening - low) <= (high - opening)
    first, second = np.where(low_first, low, high), np.where(low_first, high, low)
    t_first, t_last = t_us[starts] / 1e6, t_us[lasts] / 1e6
    at = np.stack([t_first, t_last, t_last], axis=1)
    points = np.stack([first, second, np.full(len(starts), np.nan)], axis=1)
    keep = np.ones(at.shape, dtype=bool)
    keep[:, 2] = broken
    return at[keep], points[keep]
