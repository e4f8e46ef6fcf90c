"""The administrator's two small forms: a new account (user name, full name, role,
a first password its person must change at the first login) and a new password for
someone who forgot theirs. Each sends one call to the account book off the GUI thread
and says a refusal (a name taken, a password too short) in its words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QWidget

from ald_gui.domain.accounts import Actor, Role
from ald_gui.store.accounts import AccountBook
from ald_gui.ui.checked_dialog import CheckedDialog
from ald_gui.ui.password_fields import NewPassword

__all__ = ["AddUserDialog", "ResetPasswordDialog", "person_roles"]


def person_roles() -> list[Role]:
    """The roles an account can have (not the console's own)."""
    return [r for r in Role if r is not Role.SYSTEM]


class AddUserDialog(CheckedDialog):
    """``answer``: the new Account."""

    def __init__(self, book: AccountBook, by: Actor, *, parent: QWidget | None = None) -> None:
        super().__init__("Add an account", "Add", parent)
        self._book, self._by = book, by
        self.user = QLineEdit()
        self.user.setPlaceholderText("lower case, e.g. jdoe")
        self.full_name = QLineEdit()
        self.role = QComboBox()
        for role in person_roles():
            self.role.addItem(role.value, role)
        self.role.setCurrentIndex(person_roles().index(Role.OPERATOR))
        self.password = NewPassword()
        self.form.addRow("User name", self.user)
        self.form.addRow("Full name", self.full_name)
        self.form.addRow("Role", self.role)
        self.form.addRow("First password", self.password.first)
        self.form.addRow("Again", self.password.second)
        self.form.addRow(QLabel("The person must change it at the first login.", wordWrap=True))
        self.finish_form()

    def problem(self) -> str:
        if not self.user.text().strip():
            return "Type the user name."
        return self.password.problem()

    def call(self) -> Callable[[], Any]:
        book, by = self._book, self._by
        user, name = self.user.text().strip(), self.full_name.text()
        role = Role(self.role.currentData())  # the combo keeps it as text
        password = self.password.text
        return lambda: book.add(by, user, name, role, password)

    def refusal_words(self, error: Exception) -> str:
        return f"Not added: {error}"


class ResetPasswordDialog(CheckedDialog):
    """A new password for ``user``, which they must change at their next login."""

    def __init__(
        self, book: AccountBook, by: Actor, user: str, *, parent: QWidget | None = None
    ) -> None:
        super().__init__(f"New password for {user}", "Set password", parent)
        self._book, self._by, self._user = book, by, user
        self.password = NewPassword()
        self.form.addRow("New password", self.password.first)
        self.form.addRow("Again", self.password.second)
        self.form.addRow(QLabel(f"{user} must change it at the next login.", wordWrap=True))
        self.finish_form()

    def problem(self) -> str:
        return self.password.problem()

    def call(self) -> Callable[[], Any]:
        book, by, user, password = self._book, self._by, self._user, self.password.text
        return lambda: book.reset_password(by, user, password)

    def refusal_words(self, error: Exception) -> str:
        self.password.clear()
        return f"Not changed: {error}"
