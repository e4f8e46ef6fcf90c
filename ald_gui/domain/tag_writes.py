"""Whether a value may be written to a tag, as a reason in words (or None).

The one wording of the rule, shared by the PLC client and the console (through
ald_gui.plc.writes.check_value) and by recipe validation, which names the same reason
before a run as the client would at the write.
"""

from __future__ import annotations

import math

from ald_gui.domain.tags import DataType, Tag

Value = float | int | bool


def write_refusal(tag: Tag, value: Value) -> str | None:
    """Why ``value`` may not be written to ``tag`` (naming the tag), or None if it may:
    the tag must be writable, wired, and ``value`` of its type and within min..max."""
    if not tag.writable:
        return f"{tag.key} is read-only"
    if tag.address is None:
        return f"{tag.key} is not wired (no address)"
    if isinstance(value, bool) and tag.data_type is not DataType.BOOL:
        return f"{tag.key} takes a number, not {value!r}"
    if tag.data_type is DataType.BOOL:
        if value not in (0, 1):
            return f"{tag.key} takes on/off (0 or 1), not {value!r}"
        return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return f"{tag.key} takes a finite number, not {value!r}"
    if tag.data_type.is_integer and not float(value).is_integer():
        return f"{tag.key} takes a whole number ({tag.data_type}), not {value}"
    if not tag.min <= value <= tag.max:
        unit = f" {tag.unit}" if tag.unit else ""
        return f"{value:g}{unit} is outside {tag.key}'s range {tag.min:g}..{tag.max:g}{unit}"
    return None
