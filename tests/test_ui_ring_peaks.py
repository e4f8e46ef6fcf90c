"""The trends' min/max pyramid: what it hands the plot has, in every pixel column, the
raw rows' minimum and maximum, over random data, windows, widths and ring wraps."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.ui.ring import Ring
from ald_gui.ui.ring_peaks import PeakPyramid, same_picture


def _columns(t: np.ndarray, lo: float, hi: float, width: int) -> np.ndarray:
    """Pixel column of each time, as the reduction cuts them (-1 / width: outside)."""
    edges = lo + (hi - lo) * np.arange(width + 1) / width
    return np.searchsorted(edges, t, side="right") - 1


def _extremes(t: np.ndarray, v: np.ndarray, lo: float, hi: float, width: int):
    col = _columns(t, lo, hi, width)
    out = {}
    for c in np.unique(col[(col >= 0) & (col < width)]):
        inside = v[col == c]
        finite = inside[~np.isnan(inside)]
        out[int(c)] = (
            (float(finite.min()), float(finite.max())) if len(finite) else None,
            bool(np.isnan(inside).any()),
        )
    return out


@st.composite
def _cases(draw):
    capacity = draw(st.integers(8, 3000))
    appended = draw(st.integers(1, 3 * capacity))
    steps = draw(st.integers(1, 4))  # updates in between: incremental summaries
    columns = draw(st.integers(1, 3))
    state = draw(st.booleans())  # 0/1 lanes instead of numbers
    nan_share = draw(st.sampled_from([0.0, 0.001, 0.05, 0.5]))
    seed = draw(st.integers(0, 2**32 - 1))
    width = draw(st.integers(1, 400))
    lo_share = draw(st.floats(-0.2, 1.0))
    span_share = draw(st.floats(0.001, 1.5))
    return capacity, appended, steps, columns, state, nan_share, seed, width, lo_share, span_share


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_every_pixel_column_keeps_the_raw_min_max_and_nan(case) -> None:
    capacity, appended, steps, columns, state, nan_share, seed, width, lo_share, span = case
    rng = np.random.default_rng(seed)
    ring = Ring(columns, capacity)
    pyramid = PeakPyramid(ring)
    times = np.cumsum(rng.uniform(0.01, 1.0, appended))
    if state:
        values = rng.integers(0, 2, (appended, columns)).astype(float)
    else:
        values = rng.normal(0, 10, (appended, columns)).cumsum(axis=0)
    values[rng.random((appended, columns)) < nan_share] = np.nan
    cuts = sorted(set(rng.integers(0, appended, steps - 1).tolist()) | {appended})
    done = 0
    for cut in cuts:
        for i in range(done, cut):
            ring.append(float(times[i]), values[i])
        pyramid.update()
        done = cut
    held_t = ring.times()
    lo = held_t[0] + lo_share * (held_t[-1] - held_t[0] + 1)
    hi = lo + span * (held_t[-1] - held_t[0] + 1)
    curves = list(range(columns))
    _check(ring, pyramid.reduce(lo, hi, width, curves), lo, hi, width)
    # Then, as following live does: more rows, the same window or one pixel column on.
    # Columns holding the same rows are taken from the last query, the others summed.
    more = rng.integers(0, 2 * capacity)
    later = np.cumsum(rng.uniform(0.01, 1.0, more)) + times[-1]
    for t in later:
        row = rng.normal(0, 10, columns)
        row[rng.random(columns) < nan_share] = np.nan
        ring.append(float(t), row)
    shift = (hi - lo) / width * int(rng.integers(0, 3))
    _check(
        ring, pyramid.reduce(lo + shift, hi + shift, width, curves), lo + shift, hi + shift, width
    )


def _check(ring: Ring, reduced, lo: float, hi: float, width: int) -> None:
    held_t = ring.times()
    for c in range(ring.columns):
        raw = ring.column(c)
        t, v = reduced[c]
        assert len(v) == len(t) and np.all(np.diff(t) >= 0)
        got = _extremes(t, v, lo, hi, width)
        want = _extremes(held_t, raw, lo, hi, width)
        assert got == want
        if len(t) > 2 * width + 2:
            assert len(t) <= 3 * width + 2  # a few points per column, whatever the window


def test_a_long_window_is_reduced_to_the_pixel_columns() -> None:
    ring = Ring(1, 288_000)
    for i in range(288_000):
        ring.append(float(i), [float(i % 1000)])
    ((t, v),) = PeakPyramid(ring).reduce(0.0, 288_000.0, 1200, [0])
    assert len(t) <= 2 * 1200 + 2
    assert v.min() == 0.0 and v.max() == 999.0


def test_a_sample_that_keeps_the_newest_columns_extremes_changes_no_picture() -> None:
    ring = Ring(1, 20_000)  # room for all: the oldest column keeps its rows
    pyramid = PeakPyramid(ring)
    for i in range(10_000):
        ring.append(i * 0.1, [float(i % 50)])
    lo, hi, width = 0.0, 1010.0, 101  # 10 s a column: the newest, from 1000 s, has one row
    before = pyramid.reduce(lo, hi, width, [0])[0]
    ring.append(1000.1, [0.0])  # a second row there, its min: the extremes change
    opened = pyramid.reduce(lo, hi, width, [0])[0]
    assert not same_picture(before, opened, lo, hi, width)
    ring.append(1000.2, [0.0])  # within the min and max: only the last point moves on
    inside = pyramid.reduce(lo, hi, width, [0])[0]
    assert not np.array_equal(opened[0], inside[0])
    assert same_picture(opened, inside, lo, hi, width)
    assert not same_picture(opened, inside, lo, 1000.15, 100)  # 1000.2 is past that edge
    ring.append(1000.3, [60.0])  # a new max
    assert not same_picture(inside, pyramid.reduce(lo, hi, width, [0])[0], lo, hi, width)
