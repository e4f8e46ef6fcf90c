"""The run page's Mark golden / Unmark golden button: the marking written through the
writer's query thread (store.golden_runs), never on the GUI thread.

Marking a golden run takes the permission to release a recipe (engineer, administrator):
both choose what the recipe's runs are held to. The button is greyed for an account
without it (permission_gate), and a click is checked again. ``marked(mark, before)``
says a marking was stored: the GoldenMark, and the recipe's golden run before it (the
console records both in the audit trail).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QPushButton

from ald_gui.domain.accounts import CONSOLE, Actor, Permission
from ald_gui.domain.stream import RunStatus
from ald_gui.store.golden_runs import GoldenMark, golden_run, mark_golden
from ald_gui.store.run_history import RunSummary
from ald_gui.ui.permission_gate import allowed, gate, refusal_text
from ald_gui.ui.run_questions import RunQuestions

__all__ = ["MARKS_GOLDEN", "GoldenButton"]

MARKS_GOLDEN = Permission.RELEASE_RECIPE


class GoldenButton(QObject):
    marked = Signal(object, object)  # GoldenMark, the golden run before (uuid or None)
    said = Signal(str)  # a refusal, or why the marking could not be stored

    def __init__(
        self, writer: RunQuestions, who: Callable[[], str], parent: QObject | None = None
    ) -> None:
        """``who``: the name a marking is made under (the logged-in account)."""
        super().__init__(parent)
        self.button = QPushButton("Mark golden")
        self._writer, self._who = writer, who
        self._actor: Actor | None = CONSOLE  # who may mark (permission_gate)
        self._run: RunSummary | None = None
        self.golden = False
        self.button.clicked.connect(self._clicked)
        writer.answered.connect(self._stored)
        writer.failed.connect(self._not_stored)
        self._show()

    def set_actor(self, actor: Actor | None) -> None:
        self._actor = actor
        self._show()

    def show_run(self, run: RunSummary | None, golden: bool) -> None:
        """The run on the page, and whether it is its recipe's golden run now."""
        self._run, self.golden = run, golden
        self._show()

    def _show(self) -> None:
        r = self._run
        possible = r is not None and bool(r.recipe) and r.status is RunStatus.COMPLETED
        self.button.setText("Unmark golden" if self.golden else "Mark golden")
        gate(self.button, possible, MARKS_GOLDEN, self._actor)

    @Slot()
    def _clicked(self) -> None:
        r = self._run
        if r is None:
            return
        if not allowed(self._actor, MARKS_GOLDEN):
            self.said.emit(refusal_text(self._actor, MARKS_GOLDEN))
            return
        run_id, unmark, who = r.id, self.golden, self._who()
        machine, recipe = r.machine, r.recipe

        def work(conn: psycopg.Connection[Any]) -> tuple[GoldenMark, uuid.UUID | None]:
            before = golden_run(conn, machine, recipe)
            return mark_golden(conn, run_id, who, unmark=unmark), before

        self.button.setEnabled(False)
        self._writer.ask(work)

    @Slot(object)
    def _stored(self, answer: object) -> None:
        assert isinstance(answer, tuple)
        mark, before = answer
        self.golden = self._run is not None and mark.run_id == self._run.id
        self._show()
        self.marked.emit(mark, before)

    @Slot(str)
    def _not_stored(self, text: str) -> None:
        self.said.emit(text)
        self._show()
