"""One screen's questions to the history query thread (engine.history_queries): asked
under the screen's own topic, so a newer question of the screen supersedes (drops or
cancels) its older one and never another screen's; answered back on the GUI thread.

A question that has no answer (no such run, no cycle 4: a ValueError or LookupError
of the work) is said as such on ``failed``, with the work's words; so is a database
that could not be read. The work must not touch widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from PySide6.QtCore import QObject, Signal, Slot

from ald_gui.engine.history_queries import HistoryAnswer, HistoryQueries, Question

__all__ = ["RunQuestions"]


@dataclass(frozen=True, slots=True)
class _Unanswered:
    text: str


def _answerable(work: Question) -> Question:
    def asked(conn: psycopg.Connection[Any]) -> object:
        try:
            return work(conn)
        except (ValueError, LookupError) as exc:
            return _Unanswered(str(exc))

    return asked


class RunQuestions(QObject):
    """``answered(result)``; ``failed(text)``."""

    answered = Signal(object)
    failed = Signal(str)

    def __init__(self, queries: HistoryQueries, topic: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queries, self.topic = queries, topic
        queries.answered.connect(self._on_answer)

    def ask(self, work: Question) -> None:
        """Ask ``work(connection)``, superseding this screen's question still due."""
        try:
            self._queries.ask(self.topic, _answerable(work))
        except RuntimeError as exc:  # closed: the console is closing
            self.failed.emit(str(exc))

    @Slot(object)
    def _on_answer(self, answer: HistoryAnswer) -> None:
        if answer.topic != self.topic or not self._queries.is_current(self.topic, answer.ticket):
            return  # another screen's, or one this screen no longer wants
        if answer.error:
            self.failed.emit(answer.error)
        elif isinstance(answer.result, _Unanswered):
            self.failed.emit(answer.result.text)
        else:
            self.answered.emit(answer.result)
