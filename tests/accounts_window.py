"""The console window with a real engine, the simulator and PostgreSQL, and the person
at it: accounts made through the engine's account book, logins typed into the
window's own dialogs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from ald_gui.config.accounts import AccountSettings
from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Role
from ald_gui.domain.audit import Meaning, Signature
from ald_gui.engine.engine import Engine
from ald_gui.store.accounts import AccountBook
from ald_gui.ui.login_dialogs import LoginDialog
from ald_gui.ui.main_window import CloseChoice, MainWindow
from ald_gui.ui.signature_dialog import AskSignature, SignatureDialog, Verify
from tests.fixtures.plc import quick

ADMIN, ADMIN_PASSWORD = "ada", "correct horse battery"


def administrator(book: AccountBook) -> Actor:
    """The first administrator, Ada Admin."""
    return book.create_first_administrator(ADMIN, "Ada Admin", ADMIN_PASSWORD).actor


def people(*who: tuple[str, Role]) -> Callable[[AccountBook], object]:
    """The administrator and each (user, role), whose password is "<user> password"
    (changed from the first one, so they may log in)."""

    def make(book: AccountBook) -> None:
        ada = administrator(book)
        for user, role in who:
            book.add(ada, user, "", role, "first password")
            book.change_password(user, "first password", f"{user} password")

    return make


def console_config(sim_config: AppConfig, **accounts: object) -> AppConfig:
    """``sim_config`` polled every 0.1 s, with ``[accounts]`` settings."""
    settings = AccountSettings.model_validate(accounts)
    return quick(sim_config, 0.1).model_copy(update={"accounts": settings})


def open_window(
    config: AppConfig,
    dsn: str,
    tmp_path: Path,
    qtbot: QtBot,
    *,
    idle_ms: int | None = None,
    accounts: Callable[[AccountBook], object] = lambda _book: None,
    ask_signature: AskSignature | None = None,
) -> MainWindow:
    """The window on a fresh engine, shown, the engine opened; ``accounts`` makes the
    accounts there are before the login flow starts (none: the very first start)."""
    engine = Engine(config, data_dir=tmp_path / "data", dsn=dsn)
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    window = MainWindow(
        engine,
        settings=settings,
        confirm=lambda *_: True,
        close_ask=lambda *_: CloseChoice.END_RUN,
        idle_ms=idle_ms,
        ask_signature=ask_signature,
    )
    qtbot.addWidget(window)
    window.show()
    engine.open()
    accounts(engine.accounts)
    window.engine_opened()
    return window


def login_dialog(window: MainWindow, qtbot: QtBot) -> LoginDialog:
    """The login dialog the window shows (waiting for the first start's check)."""
    qtbot.waitUntil(lambda: isinstance(window.accounts.login.dialog, LoginDialog), timeout=10000)
    dialog = window.accounts.login.dialog
    assert isinstance(dialog, LoginDialog)
    return dialog


def type_login(dialog: LoginDialog, qtbot: QtBot, user: str, password: str) -> None:
    """Type ``user`` and ``password`` and press Log in; returns once answered."""
    dialog.user.setText(user)
    dialog.password.setText(password)
    dialog.ok.click()
    qtbot.waitUntil(lambda: not dialog.checking, timeout=10000)


def log_in(window: MainWindow, qtbot: QtBot, user: str, password: str) -> Actor:
    """Log in through the window's dialog (opening it if it is not open)."""
    dialog = window.accounts.login.dialog
    if not isinstance(dialog, LoginDialog) or not dialog.isVisible():
        window.accounts.bar.log_in.click() if window.accounts.session.actor is None else (
            window.accounts.bar.switch.click()
        )
        dialog = login_dialog(window, qtbot)
    with qtbot.waitSignal(window.accounts.session.changed, timeout=10000):
        type_login(dialog, qtbot, user, password)
    actor = window.engine.session
    assert actor is not None and actor.account == user
    return actor


class Signer:
    """The person at the signature dialog: types ``password`` (None: presses Cancel)
    into the real dialog, checked by the engine; keeps what each dialog asked."""

    def __init__(self, qtbot: QtBot) -> None:
        self.qtbot = qtbot
        self.password: str | None = None
        self.second: tuple[str, str] | None = None  # the second person: account, password
        self.asked: list[tuple[str, str, Meaning]] = []
        self.said = ""  # the dialog's last message

    def __call__(
        self, parent: QWidget, what: str, account: str, meaning: Meaning, verify: Verify
    ) -> Signature | None:
        self.asked.append((what, account, meaning))
        dialog = SignatureDialog(what, account, verify, meaning, parent=parent)
        dialog.open()
        password = self.password
        if not account and self.second is not None:
            dialog.account.setText(self.second[0])
            password = self.second[1]
        if password is None:
            dialog.reject()
            return None
        dialog.password.setText(password)
        dialog.ok.click()
        self.qtbot.waitUntil(lambda: not dialog.checking, timeout=10000)
        answer: Signature | None = dialog.answer
        self.said = dialog.message.text()
        dialog.close()
        return answer
