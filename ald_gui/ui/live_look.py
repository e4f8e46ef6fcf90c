"""How a live value is shown at a glance, on the Overview and in the key values: its
words (OPEN/CLOSED, ON/OFF, FAULT/OK, or the number with its unit), whether it is
stale, and the one word that says what is wrong (STALE, HIGH, LOW, NO VALUE).

Worked out from the parameter table's sheet, so every screen agrees with the table
about a value and about its being stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ald_gui.domain.alarms import Priority
from ald_gui.domain.tags import DataType, Tag
from ald_gui.ui.parameter_rows import Level, ParameterSheet, Row, with_unit


class Kind(Enum):
    VALVE = "valve"  # *.valve_state: OPEN / CLOSED
    FAULT = "fault"  # a fault or trip flag: FAULT / OK
    SWITCH = "switch"  # any other bool: ON / OFF
    VALUE = "value"  # a number with its unit


def kind_of(tag: Tag) -> Kind:
    if tag.data_type is not DataType.BOOL:
        return Kind.VALUE
    if tag.name.endswith("valve_state"):
        return Kind.VALVE
    if "fault" in tag.name or "tripped" in tag.name:
        return Kind.FAULT
    return Kind.SWITCH


@dataclass(slots=True)
class Look:
    """What a live value shows now."""

    text: str = "—"  # the value with its unit, or the state's word
    on: bool | None = None  # a bool's state; None before the first sample
    stale: bool = False
    caption: str = ""  # HIGH, LOW, STALE, NO VALUE …; "" when all is well
    alarm: Priority | None = None


def words(kind: Kind, on: bool | None) -> str:
    if on is None:
        return "—"
    match kind:
        case Kind.VALVE:
            return "OPEN" if on else "CLOSED"
        case Kind.FAULT:
            return "FAULT" if on else "OK"
        case _:
            return "ON" if on else "OFF"


def look_of(sheet: ParameterSheet, row: Row, alarm: Priority | None = None) -> Look:
    """``row`` as the sheet has it now."""
    status = sheet.status(row, notes=False)
    kind = kind_of(row.tag)
    look = Look(stale=status.stale or row.value is None, alarm=alarm)
    if row.value is not None and kind is not Kind.VALUE:
        look.on = row.value != 0.0
    if kind is Kind.VALUE:
        look.text = "—" if row.value is None else with_unit(row.tag, row.value)
    else:
        look.text = words(kind, look.on)
    if row.value is None:
        look.caption = "NO VALUE" if row.tag.polled else "NOT WIRED"
    elif status.stale:
        look.caption = "STALE"
    elif status.level >= Level.ALARM and kind is Kind.VALUE:
        look.caption = "HIGH" if row.value > row.tag.max else "LOW"
    return look
