"""Whether a value may be written to a tag: checked before anything is sent.

Shared by the PLC client (which refuses a bad write) and the console (which refuses
it at the keyboard, before asking the engine), so both give the same reason. The
rule itself is ald_gui.domain.tag_writes's, which recipe validation uses too.
"""

from __future__ import annotations

from ald_gui.domain.tag_writes import Value, write_refusal
from ald_gui.domain.tags import Tag
from ald_gui.plc.errors import WriteRefused

__all__ = ["Value", "check_value"]


def check_value(tag: Tag, value: Value) -> None:
    """Raise WriteRefused, naming the tag and the reason, unless ``value`` may be
    written to ``tag``: writable, wired, of its type, within min..max."""
    reason = write_refusal(tag, value)
    if reason is not None:
        raise WriteRefused(reason)
