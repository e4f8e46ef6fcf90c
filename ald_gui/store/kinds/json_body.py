"""The spool body of the kinds stored as JSON: small, rare items (run events, gaps,
steps). Python's JSON round-trips what they hold exactly: integers of any size, text,
and floats, NaN and infinities included."""

from __future__ import annotations

import json
from typing import Any


def dump(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields).encode()


def load(body: bytes) -> dict[str, Any]:
    """The fields of ``body``; raises ValueError (json's) or TypeError for one that is
    not a JSON object."""
    fields = json.loads(body)
    if not isinstance(fields, dict):
        raise TypeError(f"expected a JSON object, found {type(fields).__name__}")
    return fields
