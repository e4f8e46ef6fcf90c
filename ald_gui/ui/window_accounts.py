"""The window's half of the accounts, in one place: who is logged in (session), the
status bar's account corner, the login dialogs, the Accounts menu, the signed actions;
on every change of person the panels are greyed again for what the new one may do.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMainWindow

from ald_gui.domain.accounts import Actor
from ald_gui.engine.engine import Engine
from ald_gui.ui import signature_dialog
from ald_gui.ui.account_menu import AccountMenu
from ald_gui.ui.login_flow import LoginFlow
from ald_gui.ui.session import Session
from ald_gui.ui.session_bar import SessionBar
from ald_gui.ui.signature_dialog import AskSignature
from ald_gui.ui.signed_actions import SignedActions

__all__ = ["WindowAccounts"]


class Gated(Protocol):
    """A panel that greys what the account at the window may not do (permission_gate)."""

    def set_actor(self, actor: Actor | None) -> None: ...


class WindowAccounts(QObject):
    def __init__(
        self,
        window: QMainWindow,
        engine: Engine,
        *,
        idle_ms: int | None = None,
        ask_signature: AskSignature | None = None,
    ) -> None:
        """``idle_ms``: the idle logout (default: the configuration's);
        ``ask_signature``: the signature dialog (a test's hand instead)."""
        super().__init__(window)
        self._engine, self._window = engine, window
        self.session = Session(engine, idle_ms=idle_ms, parent=self)
        self.bar = SessionBar()
        self.login = LoginFlow(engine, self.session, window)
        self.menu = AccountMenu(engine, window)
        sign = ask_signature or signature_dialog.ask_signature
        self.signed = SignedActions(engine, sign, window)
        self._gated: list[Gated] = [self.menu]
        say = window.statusBar().showMessage
        self.session.changed.connect(self.show_actor)
        self.session.logged_out.connect(lambda why: say(why, 15000))
        self.signed.said.connect(lambda text: say(text, 8000))
        self.bar.log_in_requested.connect(self.login.switch)
        self.bar.log_out_requested.connect(self.session.log_out)

    def gate(self, *panels: Gated) -> None:
        """Grey ``panels`` for the person at the window, now and at every change."""
        self._gated.extend(panels)
        self.show_actor(self._engine.session)

    @Slot(object)
    def show_actor(self, actor: Actor | None) -> None:
        """Who is at the window: in the status bar, and grey what they may not do
        (the engine refuses it anyway: permission_gate)."""
        self.bar.show_actor(actor)
        for panel in self._gated:
            panel.set_actor(actor)

    def stop(self) -> None:
        """Before the window closes: the dialogs and windows close, no call outlives them."""
        self.login.stop()
        self.menu.stop()
