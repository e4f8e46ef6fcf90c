"""The status bar's account corner: who is logged in and with which role, always
visible, and the Log in / Switch user / Log out buttons.

It only shows and asks (signals); the window does the logging in and out.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ald_gui.domain.accounts import Actor
from ald_gui.ui.theme import named

__all__ = ["SessionBar", "session_words"]


def session_words(actor: Actor | None) -> str:
    """ "Alice Martin (alice) · operator", or "Nobody logged in · viewing only"."""
    if actor is None:
        return "Nobody logged in · viewing only"
    who = f"{actor.full_name} ({actor.account})" if actor.full_name else actor.account
    return f"{who} · {actor.role}"


class SessionBar(QWidget):
    log_in_requested = Signal()  # nobody is logged in, or another person takes over
    log_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.who = named(QLabel(), "sessionUser")
        self.log_in = QPushButton("Log in…")
        self.switch = QPushButton("Switch user…")
        self.log_out = QPushButton("Log out")
        self.log_in.setToolTip("Log in to act on the machine")
        self.switch.setToolTip("Another person logs in; the console keeps recording")
        self.log_out.setToolTip("Leave the console viewing only; it keeps recording")
        self.log_in.clicked.connect(self.log_in_requested)
        self.switch.clicked.connect(self.log_in_requested)
        self.log_out.clicked.connect(self.log_out_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        for widget in (self.who, self.log_in, self.switch, self.log_out):
            layout.addWidget(widget)
        self.show_actor(None)

    def show_actor(self, actor: Actor | None) -> None:
        self.who.setText(session_words(actor))
        self.log_in.setVisible(actor is None)
        self.switch.setVisible(actor is not None)
        self.log_out.setVisible(actor is not None)
