"""Which tags the trends offer, on which plot, under which name and colour.

The rule (no Qt here, so it is plain to test):

- Only polled tags: an unwired tag has no history.
- Numbers: readings (read-only tags) and setpoints (writable tags named ``*_set``), one
  plot per unit: temperatures (°C), pressures (Pa), flows (sccm), outputs (%), then any
  other unit. Other writable numbers (PID gains, limits, calibration spans) are
  settings, not process values, and are not trended.
- Booleans (valves, pump, heater power, alarms): one "State" plot of step traces, each
  on a lane of its own, so ten valves stay readable.
- Visible at start: the tags the configuration marks ``plotted``; every other curve is
  in the legend menu, to switch on. A plot with no visible curve folds away.

A setpoint takes its reading's colour, dashed; curves beyond the palette's seven
colours repeat them dotted, then dash-dotted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ald_gui.domain.tags import DataType, Tag

__all__ = ["STATE_GROUP", "Curve", "Group", "plan_curves"]

STATE_GROUP = "state"

_KNOWN_UNITS = {
    "°C": "Temperature (°C)",
    "Pa": "Pressure (Pa)",
    "sccm": "Flow (sccm)",
    "%": "Output (%)",
}


@dataclass(frozen=True, slots=True)
class Curve:
    """One trended tag. ``column`` is its column in the trends' ring buffer;
    ``colour_index`` is its place in the palette (the view wraps it and changes the
    line style on each wrap)."""

    tag: Tag
    group: str
    label: str
    column: int
    colour_index: int
    setpoint: bool

    @property
    def key(self) -> str:
        return self.tag.key


@dataclass(frozen=True, slots=True)
class Group:
    """One plot: its id (the unit, or ``STATE_GROUP``), title and curves in order."""

    id: str
    title: str
    curves: tuple[Curve, ...]

    @property
    def is_state(self) -> bool:
        return self.id == STATE_GROUP


def _trended(tag: Tag) -> bool:
    if not tag.polled:
        return False
    if tag.data_type is DataType.BOOL:
        return True
    return not tag.writable or tag.name.endswith("_set")


def _group_order(unit: str) -> tuple[int, str]:
    known = list(_KNOWN_UNITS)
    return (known.index(unit), "") if unit in known else (len(known), unit)


def plan_curves(tags: Sequence[Tag]) -> tuple[Group, ...]:
    """The plots, top to bottom, and their curves, for these tags."""
    members: dict[str, list[Tag]] = defaultdict(list)
    for tag in tags:
        if _trended(tag):
            group = STATE_GROUP if tag.data_type is DataType.BOOL else tag.unit
            members[group].append(tag)
    order = sorted((g for g in members if g != STATE_GROUP), key=_group_order)
    if STATE_GROUP in members:
        order.append(STATE_GROUP)
    groups = []
    column = 0
    for gid in order:
        curves = _curves_of(gid, members[gid], column)
        column += len(curves)
        title = "State" if gid == STATE_GROUP else _KNOWN_UNITS.get(gid, gid or "(no unit)")
        groups.append(Group(gid, title, curves))
    return tuple(groups)


def _curves_of(gid: str, tags: list[Tag], first_column: int) -> tuple[Curve, ...]:
    def is_setpoint(tag: Tag) -> bool:
        return gid != STATE_GROUP and tag.writable

    # A component with one reading on this plot is named by the component alone.
    readings_per_component = Counter(t.component for t in tags if not is_setpoint(t))
    colour_of_component: dict[str, int] = {}
    next_colour = 0
    out: list[Curve] = []
    # Readings first, so each setpoint can take its reading's colour.
    ordered = [t for t in tags if not is_setpoint(t)] + [t for t in tags if is_setpoint(t)]
    for tag in ordered:
        setpoint = is_setpoint(tag)
        if setpoint:
            label = f"{tag.component} setpoint"
            if tag.component in colour_of_component:
                colour = colour_of_component[tag.component]
            else:
                colour, next_colour = next_colour, next_colour + 1
        else:
            words = tag.name.replace("_", " ")
            unique = readings_per_component[tag.component] == 1
            label = tag.component if unique else f"{tag.component} {words}"
            colour, next_colour = next_colour, next_colour + 1
            colour_of_component.setdefault(tag.component, colour)
        out.append(
            Curve(
                tag=tag,
                group=gid,
                label=label,
                column=first_column + len(out),
                colour_index=colour,
                setpoint=setpoint,
            )
        )
    return tuple(out)
