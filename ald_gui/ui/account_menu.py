"""The Accounts menu: change one's own password, the users (administrators only: greyed
for others, with the missing permission named), and the audit trail (anyone at the
window: it only reads, through the reader role)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QMenuBar, QWidget

from ald_gui.domain.accounts import Actor, Permission
from ald_gui.engine.engine import Engine
from ald_gui.ui.audit_viewer import AuditViewer
from ald_gui.ui.login_dialogs import ChangePasswordDialog
from ald_gui.ui.permission_gate import gate
from ald_gui.ui.pool_reader import PoolReader
from ald_gui.ui.users_window import UsersWindow

__all__ = ["AccountMenu"]


class AccountMenu(QObject):
    """``users`` and ``password`` are the windows while open (a test fills them in)."""

    def __init__(self, engine: Engine, window: QWidget) -> None:
        super().__init__(window)
        self._engine, self._window = engine, window
        self.users: UsersWindow | None = None
        self.audit: AuditViewer | None = None
        self.password: QDialog | None = None
        self.users_action = QAction("Users…", window)
        self.users_action.setToolTip("Add accounts, set their roles, disable them")
        self.users_action.triggered.connect(self.show_users)
        self.password_action = QAction("Change my password…", window)
        self.password_action.triggered.connect(self.change_password)
        self.audit_action = QAction("Audit trail…", window)
        self.audit_action.triggered.connect(self.show_audit)

    def add_to(self, bar: QMenuBar) -> None:
        menu = bar.addMenu("A&ccounts")
        menu.setToolTipsVisible(True)
        menu.addAction(self.password_action)
        menu.addAction(self.users_action)
        menu.addSeparator()
        menu.addAction(self.audit_action)

    def set_actor(self, actor: Actor | None) -> None:
        gate(self.users_action, True, Permission.MANAGE_USERS, actor)
        self.password_action.setEnabled(actor is not None)
        if self.users is not None and (actor is None or not actor.may(Permission.MANAGE_USERS)):
            self.users.close()  # the administrator left: their window goes with them

    @Slot()
    def show_users(self) -> UsersWindow | None:
        by = self._engine.session
        if by is None or not by.may(Permission.MANAGE_USERS):
            return None
        if self.users is None:
            self.users = UsersWindow(self._engine.accounts, by, self._window)
            self.users.finished.connect(lambda _: setattr(self, "users", None))
        self.users.show()
        self.users.raise_()
        self.users.reload()
        return self.users

    @Slot()
    def show_audit(self) -> AuditViewer:
        """Open the audit viewer (one, raised again if open) and search the last day."""
        if self.audit is None:
            engine = self._engine
            reader = PoolReader(engine.reader_dsn, self)
            self.audit = AuditViewer(reader, engine.machine, self._window)
            self.audit.finished.connect(lambda _: setattr(self, "audit", None))
        self.audit.show()
        self.audit.raise_()
        self.audit.ask()
        return self.audit

    def stop(self) -> None:
        """Before the window closes: its windows close, no question outlives them."""
        for window in (self.users, self.audit, self.password):
            if window is not None:
                window.close()  # the audit viewer waits for its questions

    @Slot()
    def change_password(self) -> None:
        actor = self._engine.session
        if actor is None:
            return
        self.password = ChangePasswordDialog(
            actor.account, self._engine.accounts.change_password, parent=self._window
        )
        self.password.finished.connect(lambda _: setattr(self, "password", None))
        self.password.open()
