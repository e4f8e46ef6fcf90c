"""A small form whose OK runs one blocking call off the GUI thread (a password check, an
account change): the answer accepts the dialog, a refusal is said in words in the
dialog, which stays open for another try. Cancel sends nothing.

Subclasses add their fields and say what is wrong with them (``problem``), what to
call (``call``), and how to word a refusal (``refusal_words``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from ald_gui.ui.off_thread import OffThread
from ald_gui.ui.theme import named

__all__ = ["CheckedDialog"]


class CheckedDialog(QDialog):
    """``answer``: what the call returned, once accepted (None before)."""

    def __init__(self, title: str, ok_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.answer: Any = None
        self._waiting = False  # from the call's start until its answer is shown
        self.form = QFormLayout(self)
        self.message = named(QLabel(wordWrap=True), "dialogMessage")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(ok_text)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self._call = OffThread(f"dialog-{title.lower().replace(' ', '-')}", self)
        self._call.answered.connect(self._answered)
        self._call.failed.connect(self._refused)
        self._call.busy.connect(lambda busy: self.buttons.setEnabled(not busy))

    def finish_form(self) -> None:
        """After the subclass's rows: the message line and the buttons."""
        self.form.addRow(self.message)
        self.form.addRow(self.buttons)

    # -- what a subclass says ------------------------------------------------------

    def problem(self) -> str:
        """What is wrong with the fields before anything is sent; "" if nothing."""
        return ""

    def call(self) -> Callable[[], Any]:
        raise NotImplementedError

    def refusal_words(self, error: Exception) -> str:
        return str(error)

    def refused(self, error: Exception) -> None:
        """After a refusal is shown: a subclass clears its password fields here."""

    # -- the round trip ------------------------------------------------------------

    @property
    def checking(self) -> bool:
        """A call was sent and its answer is not shown yet."""
        return self._waiting

    @Slot()
    def submit(self) -> None:
        problem = self.problem()
        if problem:
            self.message.setText(problem)
            return
        self.message.setText("Checking…")
        self._waiting = self._call.run(self.call())

    def _done_waiting(self) -> None:
        # The call has ended: OK again at once, not only when its queued busy(False)
        # arrives (a refusal shown with OK still greyed ignored the next press).
        self._call.wait()
        self._waiting = False
        self.buttons.setEnabled(True)

    @Slot(object)
    def _answered(self, result: object) -> None:
        self._done_waiting()
        self.answer = result
        self.message.setText("")
        self.accept()

    @Slot(object)
    def _refused(self, error: Exception) -> None:
        self._done_waiting()
        self.message.setText(self.refusal_words(error))
        self.refused(error)

    def done(self, result: int) -> None:
        self._call.wait()  # no call outlives the dialog
        super().done(result)
