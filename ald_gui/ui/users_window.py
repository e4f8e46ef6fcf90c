"""User management, for administrators: every account (user, full name, role,
disabled, locked, must change its password), and adding one, disabling and enabling,
setting the role, setting a new password.

Each change is one call to the account book as the administrator at the window (the
book checks MANAGE_USERS and the rules, e.g. the last administrator stays; the audit
trail records it), off the GUI thread; the list is read again after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.accounts import Actor, Role
from ald_gui.store.accounts import Account, AccountBook
from ald_gui.ui.off_thread import OffThread
from ald_gui.ui.theme import named
from ald_gui.ui.user_dialogs import AddUserDialog, ResetPasswordDialog, person_roles

__all__ = ["UsersWindow"]

COLUMNS = ("User", "Full name", "Role", "Disabled", "Locked", "Must change password")


def _cells(a: Account, now: datetime) -> tuple[str, ...]:
    locked = a.locked_until is not None and a.locked_at(now)
    until = a.locked_until.astimezone().strftime("until %H:%M") if locked and a.locked_until else ""
    return (
        a.user,
        a.full_name,
        a.role.value,
        "disabled" if a.disabled else "",
        until,
        "yes" if a.must_change_password else "",
    )


class UsersWindow(QDialog):
    """Opened by an administrator (``by``); ``dialog`` is an add/reset form while open."""

    def __init__(self, book: AccountBook, by: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Users")
        self._book, self._by = book, by
        self.accounts: list[Account] = []
        self.dialog: QDialog | None = None
        self._busy_now = False  # a call sent, its answer not yet shown
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._enable)
        self.add = QPushButton("Add…")
        self.disable = QPushButton("Disable")
        self.enable = QPushButton("Enable")
        self.role = QComboBox()
        for role in person_roles():
            self.role.addItem(role.value, role)
        self.set_role = QPushButton("Set role")
        self.reset = QPushButton("New password…")
        self.message = named(QLabel(wordWrap=True), "usersMessage")
        self.add.clicked.connect(self._add)
        self.disable.clicked.connect(lambda: self._change(lambda b, by, u: b.disable(by, u)))
        self.enable.clicked.connect(lambda: self._change(lambda b, by, u: b.enable(by, u)))
        self.set_role.clicked.connect(self._set_role)
        self.reset.clicked.connect(self._reset)
        buttons = QHBoxLayout()
        for w in (self.add, self.disable, self.enable, self.role, self.set_role, self.reset):
            buttons.addWidget(w)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        self.resize(760, 420)
        self._call = OffThread("users", self)
        self._call.answered.connect(self._show)
        self._call.failed.connect(self._failed)
        self._call.busy.connect(self._busy)
        self._enable()

    # -- reading -------------------------------------------------------------------

    def reload(self) -> None:
        """Read the accounts again (off the GUI thread)."""
        book = self._book
        self._run(book.accounts, "Reading the accounts…")

    def _run(self, call: Callable[[], Any], words: str) -> None:
        if self._call.run(call):
            self.message.setText(words)

    @Slot(object)
    def _show(self, accounts: Sequence[Account]) -> None:
        """A reading's answer, or a change's: the list read again after it."""
        self._call.wait()
        # The call has ended: its buttons come back with the answer, not only when the
        # queued busy(False) arrives (a click in between was ignored).
        self._busy_now = False
        chosen = self.selected()
        self.accounts = list(accounts)
        now = datetime.now().astimezone()
        self.table.setRowCount(len(self.accounts))
        for row, a in enumerate(self.accounts):
            for column, text in enumerate(_cells(a, now)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        if chosen is not None:
            self.select(chosen.user)
        self.message.setText(f"{len(self.accounts)} accounts.")
        self._enable()

    @Slot(object)
    def _failed(self, error: Exception) -> None:
        self._call.wait()
        self._busy_now = False
        self.message.setText(f"Not done: {error}")
        self._enable()

    def rows(self) -> list[list[str]]:
        """The table's text, row by row, as on screen."""
        return [
            [self._text(r, c) for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    # -- choosing ------------------------------------------------------------------

    def select(self, user: str) -> None:
        for row, a in enumerate(self.accounts):
            if a.user == user:
                self.table.selectRow(row)
                return
        self.table.clearSelection()

    def selected(self) -> Account | None:
        rows = self.table.selectionModel().selectedRows()
        return self.accounts[rows[0].row()] if rows else None

    @Slot()
    def _enable(self) -> None:
        a = self.selected()
        busy = self._busy_now
        self.add.setEnabled(not busy)
        for button in (self.set_role, self.reset):
            button.setEnabled(a is not None and not busy)
        self.disable.setEnabled(a is not None and not a.disabled and not busy)
        self.enable.setEnabled(a is not None and a.disabled and not busy)
        if a is not None:
            self.role.setCurrentIndex(person_roles().index(a.role))

    @Slot(bool)
    def _busy(self, busy: bool) -> None:
        self._busy_now = busy
        self._enable()

    # -- changes -------------------------------------------------------------------

    def _change(self, change: Callable[[AccountBook, Actor, str], object]) -> None:
        a = self.selected()
        if a is None:
            return
        book, by, user = self._book, self._by, a.user

        def work() -> list[Account]:
            change(book, by, user)
            return book.accounts()

        self._run(work, f"Changing {user}…")

    @Slot()
    def _set_role(self) -> None:
        role = Role(self.role.currentData())  # the combo keeps it as text
        self._change(lambda b, by, u: b.set_role(by, u, role))

    @Slot()
    def _add(self) -> None:
        self._open(AddUserDialog(self._book, self._by, parent=self))

    @Slot()
    def _reset(self) -> None:
        a = self.selected()
        if a is not None:
            self._open(ResetPasswordDialog(self._book, self._by, a.user, parent=self))

    def _open(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.accepted.connect(self.reload)
        dialog.finished.connect(lambda _: setattr(self, "dialog", None))
        dialog.open()

    def done(self, result: int) -> None:
        self._call.wait()
        super().done(result)
