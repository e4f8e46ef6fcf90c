"""What the back-fill draws of a history answer, made on the query thread: at most two
points per pixel column (and a NaN break), keeping every column's min, max and NaN."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.store.history import Series
from ald_gui.store.history_m4 import Reduction
from ald_gui.ui.trends_history_peaks import column_peaks, for_drawing


def _by_column(t_s: np.ndarray, v: np.ndarray, origin_us: int, width_us: int):
    """Per column: (min, max) of its non-NaN values or None, whether it holds NaN, and
    its point count."""
    column = (np.rint(t_s * 1e6).astype(np.int64) - origin_us) // width_us
    out = {}
    for c in np.unique(column):
        inside = v[column == c]
        finite = inside[~np.isnan(inside)]
        span = (float(finite.min()), float(finite.max())) if len(finite) else None
        out[int(c)] = (span, bool(np.isnan(inside).any()), len(inside))
    return out


@settings(max_examples=200, deadline=None)
@given(
    rows=st.integers(1, 3000),
    width_us=st.integers(1_000, 5_000_000),
    nan_share=st.sampled_from([0.0, 0.01, 0.3, 1.0]),
    state=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_column_keeps_its_min_max_and_nan_in_at_most_three_points(
    rows, width_us, nan_share, state, seed
) -> None:
    rng = np.random.default_rng(seed)
    origin_us = 1_700_000_000_000_000 + int(rng.integers(0, width_us))
    t_us = origin_us + np.sort(rng.choice(200 * width_us, rows, replace=False)).astype(np.int64)
    v = rng.integers(0, 2, rows).astype(float) if state else rng.normal(0, 5, rows).cumsum()
    v[rng.random(rows) < nan_share] = np.nan
    t_s, drawn = column_peaks(t_us, v, origin_us, width_us)
    assert np.all(np.diff(t_s) >= 0)  # in time order, as the plot takes it
    want, got = (
        _by_column(t_us / 1e6, v, origin_us, width_us),
        _by_column(t_s, drawn, origin_us, width_us),
    )
    assert got.keys() == want.keys()
    for c, (span, has_nan, _) in want.items():
        got_span, got_nan, points = got[c]
        assert got_span == span and got_nan == has_nan
        assert points == 2 + has_nan


def _series(rows: int, reduction: Reduction | None) -> Series:
    t_us = 1_700_000_000_000_000 + np.arange(rows, dtype=np.int64) * 100_000
    return Series("x", t_us, np.sin(np.arange(rows) / 7.0), reduction is not None, reduction)


def test_an_answer_of_two_points_per_column_is_drawn_as_fetched() -> None:
    series = _series(200, None)
    start, end = int(series.t_us[0]), int(series.t_us[-1]) + 1
    t_s, v = for_drawing(series, start, end, 100)
    np.testing.assert_array_equal(t_s, series.t_us / 1e6)
    np.testing.assert_array_equal(v, series.values)


def test_a_denser_answer_comes_as_two_points_per_column_of_its_own_grid() -> None:
    raw = _series(1000, None)
    start, end = int(raw.t_us[0]), int(raw.t_us[-1]) + 1
    t_s, _ = for_drawing(raw, start, end, 100)
    assert len(t_s) == 2 * 100  # the span's own 100 columns, 10 rows each
    # A reduced answer's grid is the reduction's (aligned on rollup buckets, say).
    grid = Reduction("history_rollup_1s", 1_000_000, start - 400_000, 5_000_000, end)
    t_s, _ = for_drawing(_series(1000, grid), start, end, 10)
    assert len(t_s) == 2 * len(np.unique((raw.t_us - grid.origin_us) // grid.column_us))
