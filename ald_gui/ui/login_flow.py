"""The dialogs of logging in, one after the other, none blocking the window: at start
"Create the administrator" (the very first start) or the login (unless the console
starts viewing only); a refusal said in words in the login dialog; "must change the
password" leads to the change of password, then back to the login.

Every account call blocks (argon2, the database) and runs off the GUI thread, in the
dialogs (checked_dialog) or here (``OffThread``). ``dialog`` is the one open now, so a
test (or the screenshot script) can fill it in.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QDialog, QWidget

from ald_gui.domain.accounts import Actor
from ald_gui.engine.engine import Engine
from ald_gui.store.accounts import LoginRefused
from ald_gui.ui.login_dialogs import (
    ChangePasswordDialog,
    CreateAdministratorDialog,
    LoginDialog,
    must_change,
)
from ald_gui.ui.off_thread import OffThread
from ald_gui.ui.session import Session

__all__ = ["LoginFlow"]


class LoginFlow(QObject):
    def __init__(self, engine: Engine, session: Session, window: QWidget) -> None:
        super().__init__(window)
        self._engine, self._session, self._window = engine, session, window
        self.dialog: QDialog | None = None
        self._first_start = OffThread("first-start", self)
        self._first_start.answered.connect(self._first_start_known)
        self._first_start.failed.connect(lambda exc: self.ask(message=f"{exc}"))
        session.logged_out.connect(self._logged_out)

    def at_start(self) -> None:
        """Once the database is open: the first administrator, or the login (unless the
        configuration starts viewing only, or someone is logged in already)."""
        if self._engine.session is None:
            self._first_start.run(lambda: self._engine.accounts.has_administrator())

    @Slot(object)
    def _first_start_known(self, has_administrator: bool) -> None:
        self._first_start.wait()
        if not has_administrator:
            self._create_administrator()
        elif self._session.starts_with_login:
            self.ask()

    def _create_administrator(self) -> None:
        accounts = self._engine.accounts
        dialog = CreateAdministratorDialog(accounts.create_first_administrator, parent=self._window)
        dialog.accepted.connect(lambda: self.ask(dialog.answer, "Administrator created: log in."))
        self._show(dialog)

    def ask(self, user: str = "", message: str = "") -> LoginDialog:
        """Open the login dialog (``user`` filled in); the session changes once it is
        accepted. Cancel leaves the console viewing only."""
        dialog = LoginDialog(self._session.log_in, user=user, parent=self._window)
        dialog.message.setText(message)
        dialog.accepted.connect(lambda: self._logged_in(dialog.answer))
        dialog.rejected.connect(lambda: self._maybe_change_password(dialog))
        self._show(dialog)
        return dialog

    @Slot()
    def switch(self) -> None:
        """Log in, or switch user: the one logged in leaves first, so a cancelled
        switch leaves the console viewing only, not open to the next person."""
        if self._session.actor is not None:
            self._session.log_out()
        self.ask()

    @Slot(str)
    def _logged_out(self, why: str) -> None:
        """The console logged its person out (idle): it records on; the login again."""
        if self._session.starts_with_login:
            self.ask(message=f"{why}.")

    def _logged_in(self, actor: Actor) -> None:
        self.dialog = None
        self._session.logged_in(actor)

    def _maybe_change_password(self, dialog: LoginDialog) -> None:
        error = dialog.refusal
        if not must_change(error):
            self.dialog = None
            return
        assert isinstance(error, LoginRefused)
        user = error.user
        change = ChangePasswordDialog(
            user,
            self._engine.accounts.change_password,
            why="Your password was set by an administrator: choose your own before you log in.",
            parent=self._window,
        )
        change.accepted.connect(lambda: self.ask(user, "Password changed: log in with it."))
        change.rejected.connect(lambda: setattr(self, "dialog", None))
        self._show(change)

    def stop(self) -> None:
        """Before the window closes: the open dialog closes (waiting for its check)."""
        self._first_start.wait()
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None

    def _show(self, dialog: QDialog) -> None:
        # Window-modal and not exec(): the console keeps painting the live values.
        if self.dialog is not None and self.dialog is not dialog:
            self.dialog.close()
        self.dialog = dialog
        dialog.open()
