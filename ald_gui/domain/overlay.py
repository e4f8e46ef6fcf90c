"""A run's curve laid over a reference run's (the golden one, or any other): both put
on seconds from their own anchor (domain.run_alignment), and the difference, run minus
reference, on the run's time base, the reference interpolated linearly onto it.

The difference exists only where both curves do: a run's samples before the
reference's first or after its last are left out rather than extrapolated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Curve", "aligned", "difference"]

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Curve:
    """``x_s``: seconds from the anchor (increasing); ``y``: the values there."""

    x_s: Floats
    y: Floats

    def __len__(self) -> int:
        return len(self.x_s)


def aligned(t_us: npt.NDArray[np.int64], values: Floats, anchor_us: int) -> Curve:
    """Samples at stream times ``t_us`` as seconds from ``anchor_us``. The subtraction
    is done in integers so a long time stamp loses no microsecond before scaling."""
    x = (np.asarray(t_us, dtype=np.int64) - np.int64(anchor_us)).astype(np.float64) / 1e6
    return Curve(x, np.asarray(values, dtype=np.float64))


def difference(run: Curve, reference: Curve) -> Curve:
    """``run - reference`` at the run's x values that lie within the reference's span."""
    if len(reference) == 0 or len(run) == 0:
        empty = np.empty(0, dtype=np.float64)
        return Curve(empty, empty.copy())
    inside = (run.x_s >= reference.x_s[0]) & (run.x_s <= reference.x_s[-1])
    x = run.x_s[inside]
    return Curve(x, run.y[inside] - np.interp(x, reference.x_s, reference.y))
