"""The login dialog, the change of one's own password, and the first start's
"Create the administrator". Each checks its fields, then hands one blocking call (the
engine's account book: argon2 and the database) to a worker thread and says a refusal
in words; none holds a default password.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from ald_gui.domain.accounts import Actor
from ald_gui.store.accounts import LoginRefused, Why
from ald_gui.ui.checked_dialog import CheckedDialog
from ald_gui.ui.password_fields import NewPassword

__all__ = ["ChangePasswordDialog", "CreateAdministratorDialog", "LoginDialog", "must_change"]

LogIn = Callable[[str, str], Actor]
ChangePassword = Callable[[str, str, str], object]  # (user, current, new)
CreateAdministrator = Callable[[str, str, str], object]  # (user, full name, password)


def must_change(error: Exception | None) -> bool:
    """Whether a login was refused because the password must be changed first."""
    return isinstance(error, LoginRefused) and error.why is Why.MUST_CHANGE_PASSWORD


class LoginDialog(CheckedDialog):
    """``answer``: the Actor once logged in. Cancel ("View only") leaves the console
    viewing only. A refusal is said in the engine's words (wrong password, locked until
    HH:MM, disabled) and the dialog stays open; "must change the password" closes it
    (rejected, ``refusal`` says why) for the change of password."""

    def __init__(self, log_in: LogIn, *, user: str = "", parent: QWidget | None = None) -> None:
        super().__init__("Log in", "Log in", parent)
        self._log_in = log_in
        self.refusal: Exception | None = None  # the last one, for the window to act on
        self.user = QLineEdit(user)
        self.user.setPlaceholderText("user name")
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        self.cancel = self.buttons.button(self.buttons.StandardButton.Cancel)
        self.cancel.setText("View only")
        self.form.addRow("User", self.user)
        self.form.addRow("Password", self.password)
        self.finish_form()
        (self.password if user else self.user).setFocus()

    def problem(self) -> str:
        if not self.user.text().strip():
            return "Type your user name."
        if not self.password.text():
            return "Type your password."
        return ""

    def call(self) -> Callable[[], Any]:
        user, password = self.user.text().strip(), self.password.text()
        return lambda: self._log_in(user, password)

    def refusal_words(self, error: Exception) -> str:
        return f"Not logged in: {error}"

    def refused(self, error: Exception) -> None:
        self.refusal = error
        self.password.clear()
        self.password.setFocus()
        if must_change(error):
            self.reject()


class ChangePasswordDialog(CheckedDialog):
    """The person's own password: the current one, the new one twice. ``why`` says
    why it is asked for ("the administrator set a password that must be changed")."""

    def __init__(
        self, user: str, change: ChangePassword, *, why: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__("Change your password", "Change password", parent)
        self._user, self._change = user, change
        self.current = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.new = NewPassword()
        if why:
            self.form.addRow(QLabel(why, wordWrap=True))
        self.form.addRow("User", QLabel(user))
        self.form.addRow("Current password", self.current)
        self.form.addRow("New password", self.new.first)
        self.form.addRow("Again", self.new.second)
        self.finish_form()

    def problem(self) -> str:
        if not self.current.text():
            return "Type your current password."
        problem = self.new.problem()
        if not problem and self.new.text == self.current.text():
            return "The new password is the current one: choose another."
        return problem

    def call(self) -> Callable[[], Any]:
        user, current, new = self._user, self.current.text(), self.new.text
        return lambda: (self._change(user, current, new), new)[1]

    def refusal_words(self, error: Exception) -> str:
        return f"Password not changed: {error}"

    def refused(self, error: Exception) -> None:
        self.current.clear()
        self.new.clear()


class CreateAdministratorDialog(CheckedDialog):
    """The first start: nobody can log in yet. The person installing names the first
    administrator and sets its password (typed twice; there is no default)."""

    def __init__(self, create: CreateAdministrator, *, parent: QWidget | None = None) -> None:
        super().__init__("Create the administrator", "Create", parent)
        self._create = create
        self.user = QLineEdit()
        self.user.setPlaceholderText("e.g. admin, or your own name")
        self.full_name = QLineEdit()
        self.password = NewPassword()
        self.form.addRow(
            QLabel(
                "This console has no administrator yet. Create the account that "
                "manages the others; nothing else can be done until someone logs in.",
                wordWrap=True,
            )
        )
        self.form.addRow("User name", self.user)
        self.form.addRow("Full name", self.full_name)
        self.form.addRow("Password", self.password.first)
        self.form.addRow("Again", self.password.second)
        self.finish_form()
        self.cancel = self.buttons.button(self.buttons.StandardButton.Cancel)
        self.cancel.setText("Not now (view only)")

    def problem(self) -> str:
        if not self.user.text().strip():
            return "Type the administrator's user name."
        return self.password.problem()

    def call(self) -> Callable[[], Any]:
        user, name, password = self.user.text().strip(), self.full_name.text(), self.password.text
        return lambda: (self._create(user, name, password), user)[1]

    def refusal_words(self, error: Exception) -> str:
        return f"Not created: {error}"

    def refused(self, error: Exception) -> None:
        self.password.clear()
