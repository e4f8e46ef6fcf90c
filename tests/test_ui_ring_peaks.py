"""The trends' min/max pyramid: what it hands the plot has, in every pixel column, the
raw rows' minimum and maximum, over random data, windows, widths and ring wraps."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.ui.ring import Ring
from ald_gui.ui.ring_peaks import PeakPyramid


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
    reduced = pyramid.reduce(lo, hi, width, curves)
    for c in curves:
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
