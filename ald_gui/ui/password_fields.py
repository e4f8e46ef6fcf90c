"""A new password typed twice, and the checks the window makes before the engine's
own (which hashes it and may refuse it for its rules): both the same, not empty."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit

__all__ = ["NewPassword"]


class NewPassword:
    """Two password fields; ``problem()`` says what is wrong with them, "" if nothing."""

    def __init__(self) -> None:
        self.first = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.second = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.first.setPlaceholderText("new password")
        self.second.setPlaceholderText("the same again")

    @property
    def text(self) -> str:
        return self.first.text()

    def problem(self) -> str:
        if not self.first.text():
            return "Type a password: there is no default."
        if self.first.text() != self.second.text():
            return "The two passwords differ: type the same one twice."
        return ""

    def clear(self) -> None:
        self.first.clear()
        self.second.clear()
