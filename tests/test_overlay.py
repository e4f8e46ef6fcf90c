"""The overlay's arithmetic: curves put on seconds from their anchor, and the difference
on the run's time base, the reference interpolated onto it and never extrapolated."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ald_gui.domain.overlay import aligned, difference


def test_alignment_keeps_every_microsecond_of_a_real_time_stamp() -> None:
    t = np.array([1_796_134_055_505_343, 1_796_134_055_505_344], dtype=np.int64)
    curve = aligned(t, np.array([1.0, 2.0]), anchor_us=1_796_134_055_505_343)
    assert curve.x_s.tolist() == [0.0, 1e-6]


def test_the_difference_is_taken_where_both_curves_exist() -> None:
    run = aligned(np.arange(0, 10, dtype=np.int64) * 1_000_000, np.arange(10.0), 0)
    # The reference: the same line one higher, sampled every 2 s from 2 s to 6 s.
    ref_t = np.array([2, 4, 6], dtype=np.int64) * 1_000_000
    reference = aligned(ref_t, ref_t / 1e6 + 1.0, 0)
    d = difference(run, reference)
    assert d.x_s.tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]  # not before 2 s, not after 6 s
    assert d.y.tolist() == [-1.0] * 5  # 3 s and 5 s interpolated between the reference's


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.integers(-(10**12), 10**12))
def test_a_curve_less_itself_is_zero_wherever_it_is_anchored(
    values: list[float], anchor: int
) -> None:
    t = np.arange(len(values), dtype=np.int64) * 100_000 + 1_700_000_000_000_000
    curve = aligned(t, np.array(values), anchor)
    d = difference(curve, curve)
    assert len(d) == len(values) and np.all(d.y == 0.0)


def test_nothing_to_compare_gives_an_empty_difference() -> None:
    run = aligned(np.array([0, 1], dtype=np.int64), np.array([1.0, 2.0]), 0)
    empty = aligned(np.array([], dtype=np.int64), np.array([]), 0)
    assert len(difference(run, empty)) == 0 and len(difference(empty, run)) == 0
