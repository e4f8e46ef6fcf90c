"""The questions an alarm action asks before it is sent: a note for an
acknowledgement, a duration and a reason for a shelve, a reason for taking an alarm out
of service. Each is a plain function (``parent, alarm name`` in, the answer or None out),
so the list takes another in a test.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QInputDialog,
    QLineEdit,
    QWidget,
)

__all__ = ["AskNote", "AskReason", "AskShelve", "ask_note", "ask_reason", "ask_shelve"]

AskNote = Callable[[QWidget, str], str | None]
AskReason = Callable[[QWidget, str], str | None]
AskShelve = Callable[[QWidget, str], tuple[float, str] | None]  # (seconds, reason)


def ask_note(parent: QWidget, what: str) -> str | None:
    """A note (may be empty) for acknowledging ``what``; None if cancelled."""
    text, ok = QInputDialog.getText(parent, "Acknowledge", f"Note for {what} (optional):")
    return text if ok else None


def ask_reason(parent: QWidget, what: str) -> str | None:
    """Why ``what`` goes out of service; None if cancelled or left empty."""
    text, ok = QInputDialog.getText(parent, "Out of service", f"Why is {what} out of service?")
    return text.strip() if ok and text.strip() else None


def ask_shelve(parent: QWidget, what: str) -> tuple[float, str] | None:
    """How long to shelve ``what`` (minutes, 1 to 480) and why; None if cancelled or
    without a reason (a shelf always says why)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Shelve {what}")
    minutes = QDoubleSpinBox()
    minutes.setRange(1, 480)
    minutes.setDecimals(0)
    minutes.setValue(30)
    minutes.setSuffix(" min")
    reason = QLineEdit()
    reason.setPlaceholderText("why it may be hidden for that long")
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form = QFormLayout(dialog)
    form.addRow("For", minutes)
    form.addRow("Reason", reason)
    form.addRow(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted or not reason.text().strip():
        return None
    return minutes.value() * 60.0, reason.text().strip()
