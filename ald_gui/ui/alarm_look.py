"""How an alarm looks and reads: each priority has a shape, a word and a colour, and
each state its words, so no operator depends on colour alone (ISA-101, EEMUA 191).

The shapes differ in outline, not only in fill, and are glyphs of the text itself, so
they survive a monochrome screen, a screenshot in a report and a colour-blind eye. The
colours are Okabe & Ito's (see ``palette``), with dark text on each for contrast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ald_gui.domain.alarms import AlarmState, AlarmStatus, Priority

__all__ = ["PriorityLook", "look", "state_words", "when"]


@dataclass(frozen=True, slots=True)
class PriorityLook:
    shape: str  # a glyph that says the priority by its outline
    word: str  # the priority in capitals, as the banner says it
    colour: str  # background behind dark text
    text_colour: str

    def label(self) -> str:
        """Shape and word together, the way every alarm screen names a priority."""
        return f"{self.shape} {self.word}"


_LOOKS = {
    # A diamond for the worst (like a road sign's danger plate), a triangle for a
    # warning, a square and a circle for the calmer two: four outlines, no two alike.
    Priority.CRITICAL: PriorityLook("◆", "CRITICAL", "#D55E00", "#000000"),
    Priority.HIGH: PriorityLook("▲", "HIGH", "#E69F00", "#000000"),
    Priority.MEDIUM: PriorityLook("■", "MEDIUM", "#F0E442", "#000000"),
    Priority.LOW: PriorityLook("●", "LOW", "#56B4E9", "#000000"),
}


def look(priority: Priority) -> PriorityLook:
    return _LOOKS[priority]


def when(at_us: int | None) -> str:
    """A wall-clock time of day, local, as the operator reads it (``14:05:09``)."""
    if at_us is None:
        return ""
    return datetime.fromtimestamp(at_us / 1e6).strftime("%H:%M:%S")


_STATE_WORDS = {
    AlarmState.NORMAL: "normal",
    AlarmState.UNACKNOWLEDGED: "unacknowledged",
    AlarmState.ACKNOWLEDGED: "acknowledged",
    AlarmState.RETURNED_UNACKNOWLEDGED: "returned, unacknowledged",
    AlarmState.SHELVED: "shelved",
    AlarmState.SUPPRESSED: "suppressed (does not apply now)",
    AlarmState.OUT_OF_SERVICE: "out of service",
}


def state_words(status: AlarmStatus) -> str:
    """The alarm's state in words, with what qualifies it: the shelf's expiry, the
    reason it is out of service, a value without a fresh reading."""
    words = _STATE_WORDS[status.state]
    if status.state is AlarmState.SHELVED and status.shelved_until_us is not None:
        until = datetime.fromtimestamp(status.shelved_until_us / 1e6).strftime("%H:%M")
        words = f"shelved until {until}"
    if status.state in (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE) and status.reason:
        words = f"{words}: {status.reason}"
    if status.bad_quality:
        words = f"{words}, bad quality (no fresh value)"
    return words
