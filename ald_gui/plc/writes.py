"""Whether a value may be written to a tag: checked before anything is sent.

Shared by the PLC client (which refuses a bad write) and the console (which refuses
it at the keyboard, before asking the engine), so both give the same reason.
"""

from __future__ import annotations

import math

from ald_gui.domain.tags import DataType, Tag
from ald_gui.plc.errors import WriteRefused

Value = float | int | bool


def check_value(tag: Tag, value: Value) -> None:
    """Raise WriteRefused, naming the tag and the reason, unless ``value`` may be
    written to ``tag``: writable, wired, of its type, within min..max."""
    if not tag.writable:
        raise WriteRefused(f"{tag.key} is read-only")
    if tag.address is None:
        raise WriteRefused(f"{tag.key} is not wired (no address)")
    if isinstance(value, bool) and tag.data_type is not DataType.BOOL:
        raise WriteRefused(f"{tag.key} takes a number, not {value!r}")
    if tag.data_type is DataType.BOOL:
        if value not in (0, 1):
            raise WriteRefused(f"{tag.key} takes on/off (0 or 1), not {value!r}")
        return
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise WriteRefused(f"{tag.key} takes a finite number, not {value!r}")
    if tag.data_type.is_integer and not float(value).is_integer():
        raise WriteRefused(f"{tag.key} takes a whole number ({tag.data_type}), not {value}")
    if not tag.min <= value <= tag.max:
        unit = f" {tag.unit}" if tag.unit else ""
        raise WriteRefused(
            f"{value:g}{unit} is outside {tag.key}'s range {tag.min:g}..{tag.max:g}{unit}"
        )
