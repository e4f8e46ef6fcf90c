"""Closing the console with a run in progress: end it, abort it, or stay open."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from PySide6.QtWidgets import QMessageBox, QWidget


class CloseChoice(Enum):
    END_RUN = "end"  # end the run as completed, then close
    ABORT_RUN = "abort"  # end it as aborted, then close
    CANCEL = "cancel"


CloseAsk = Callable[[QWidget, str], CloseChoice]


def ask_close(parent: QWidget, run_text: str) -> CloseChoice:
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "A run is in progress",
        f"{run_text} is in progress. Closing the console ends it.",
        parent=parent,
    )
    end = box.addButton("End run and close", QMessageBox.ButtonRole.AcceptRole)
    abort = box.addButton("Abort run and close", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    if clicked is end:
        return CloseChoice.END_RUN
    if clicked is abort:
        return CloseChoice.ABORT_RUN
    return CloseChoice.CANCEL
