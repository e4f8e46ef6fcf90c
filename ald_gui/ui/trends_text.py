"""Words of the trends: the cursor's read-out, and the saved state read back.

No widgets here: plain functions over the ring and the curve plan.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ald_gui.ui.live_look import kind_of, words
from ald_gui.ui.palette import curve_colour
from ald_gui.ui.ring import Ring
from ald_gui.ui.trends_curves import STATE_GROUP, Curve, Group

__all__ = ["SavedState", "parse_state", "readout_html"]

log = logging.getLogger(__name__)

MIN_WINDOW_S, MAX_WINDOW_S = 60.0, 8 * 3600.0


def readout_html(
    t: float | None,
    ring: Ring,
    groups: Sequence[Group],
    visible: Collection[str],
    *,
    max_age_s: float,
    dark: bool,
) -> str:
    """What the cursor reads at time ``t``: each visible curve's value in the last
    sample at or before ``t``, plot by plot, with its colour swatch and unit. "no
    sample" when that sample is older than ``max_age_s`` (an outage, or no history)."""
    if t is None:
        return "<i>Point at a plot to read its values.</i>"
    row = ring.row_at(t)
    if row is None or t - row[0] > max_age_s:
        return f"<b>{_clock(t)}</b> — no sample"
    at, values = row
    parts = []
    for group in groups:
        for curve in group.curves:
            if curve.key in visible:
                colour = curve_colour(curve.colour_index, dark=dark)
                parts.append(
                    f'<span style="color:{colour}">■</span> '
                    f"{html.escape(curve.label)} {_value_text(curve, float(values[curve.column]))}"
                )
    return f"<b>{_clock(at)}</b>  " + " · ".join(parts)


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-5]


def _value_text(curve: Curve, v: float) -> str:
    if math.isnan(v):
        return "—"
    if curve.group == STATE_GROUP:  # the words of the table and the Overview
        return words(kind_of(curve.tag), v >= 0.5)
    # Four significant figures or so, without exponents for the usual magnitudes.
    a = abs(v)
    decimals = 0 if a >= 1000 else 1 if a >= 100 else 2 if a >= 1 else 3
    text = f"{v:.{decimals}f}"
    unit = curve.tag.unit
    return f"{text} {html.escape(unit)}" if unit else text


@dataclass(frozen=True, slots=True)
class SavedState:
    """The usable parts of a saved trends state; None where there was nothing usable."""

    visible: frozenset[str] | None
    window_s: float | None
    log_pressure: bool | None
    y_ranges: dict[str, tuple[float, float]] | None = None  # plot id -> fixed lo, hi


def parse_state(
    state: Mapping[str, object], known: Collection[str], plots: Collection[str] = ()
) -> SavedState:
    """Read back what ``TrendView.state()`` wrote, as QSettings may return it (numbers
    and booleans as strings, a one-item list as a string). Tags not in ``known``, a
    window outside 1 min .. 8 h and values of the wrong kind are dropped; so are fixed
    Y ranges of plots not in ``plots`` and ranges that are not two finite numbers lo <
    hi, each with a warning in the log."""
    raw_visible = state.get("visible")
    if isinstance(raw_visible, str):
        raw_visible = [raw_visible]
    visible = None
    if isinstance(raw_visible, list | tuple):
        visible = frozenset(str(k) for k in raw_visible if str(k) in known)
    window = state.get("window_s")
    window_s = None
    if isinstance(window, int | float | str) and not isinstance(window, bool):
        try:
            value = float(window)
        except ValueError:
            value = math.nan
        if MIN_WINDOW_S <= value <= MAX_WINDOW_S:
            window_s = value
    log_pressure = state.get("log_pressure")
    if isinstance(log_pressure, str) and log_pressure.strip().lower() in ("true", "false"):
        log_pressure = log_pressure.strip().lower() == "true"
    return SavedState(
        visible,
        window_s,
        log_pressure if isinstance(log_pressure, bool) else None,
        _y_ranges(state.get("y_ranges"), plots),
    )


def _y_ranges(raw: object, plots: Collection[str]) -> dict[str, tuple[float, float]] | None:
    if raw is None:
        return None  # an older state: leave the ranges as they are
    if not isinstance(raw, Mapping):
        log.warning("trends state: y_ranges %r is not a table of plots; ignored", raw)
        return None
    ranges = {}
    for plot, value in raw.items():
        if str(plot) not in plots:
            log.warning("trends state: Y range of %r ignored: no such number plot", plot)
            continue
        try:
            if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
                raise ValueError("not two numbers")
            lo, hi = (float(v) for v in value)  # QSettings may give them as strings
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError("not finite lo < hi")
        except (TypeError, ValueError) as e:
            log.warning("trends state: Y range %r of %r ignored: %s", value, plot, e)
            continue
        ranges[str(plot)] = (lo, hi)
    return ranges
