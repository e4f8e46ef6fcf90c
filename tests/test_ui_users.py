"""User management at the window: the administrator adds an operator in the dialog,
changes the role, disables and enables, sets a new password; the list follows the
account book. Real engine, simulator, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Role
from ald_gui.ui.main_window import MainWindow
from ald_gui.ui.user_dialogs import AddUserDialog, ResetPasswordDialog
from ald_gui.ui.users_window import UsersWindow
from tests.accounts_window import (
    ADMIN,
    ADMIN_PASSWORD,
    administrator,
    console_config,
    log_in,
    open_window,
)


@pytest.fixture
def window(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> Iterator[MainWindow]:
    w = open_window(
        console_config(sim_config), migrated_pg_dsn, tmp_path, qtbot, accounts=administrator
    )
    yield w
    w.close()


def _row(users: UsersWindow, user: str) -> list[str] | None:
    return next((r for r in users.rows() if r[0] == user), None)


def _settled(users: UsersWindow, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: users.message.text().endswith("accounts."), timeout=10000)


def test_the_administrator_adds_an_operator_in_the_dialog(window: MainWindow, qtbot: QtBot) -> None:
    log_in(window, qtbot, ADMIN, ADMIN_PASSWORD)
    users = window.accounts.menu.show_users()
    assert users is not None
    _settled(users, qtbot)
    assert users.rows() == [["ada", "Ada Admin", "administrator", "", "", ""]]

    users.add.click()
    add = users.dialog
    assert isinstance(add, AddUserDialog)
    add.user.setText("otto")
    add.full_name.setText("Otto Operator")
    add.password.first.setText("otto first")
    add.password.second.setText("otto first")
    add.ok.click()
    qtbot.waitUntil(lambda: _row(users, "otto") is not None, timeout=10000)
    assert _row(users, "otto") == ["otto", "Otto Operator", "operator", "", "", "yes"]
    book = window.engine.accounts
    assert book.account("otto").role is Role.OPERATOR

    users.select("otto")
    users.role.setCurrentText("engineer")
    users.set_role.click()
    qtbot.waitUntil(lambda: (_row(users, "otto") or [""] * 3)[2] == "engineer", timeout=10000)
    users.disable.click()
    qtbot.waitUntil(lambda: (_row(users, "otto") or [""] * 4)[3] == "disabled", timeout=10000)
    assert book.account("otto").disabled and users.enable.isEnabled()
    users.enable.click()
    qtbot.waitUntil(lambda: (_row(users, "otto") or ["", "", "", "?"])[3] == "", timeout=10000)

    users.reset.click()
    reset = users.dialog
    assert isinstance(reset, ResetPasswordDialog)
    reset.password.first.setText("short")
    reset.password.second.setText("short")
    reset.ok.click()
    qtbot.waitUntil(lambda: not reset.checking, timeout=10000)
    assert reset.message.text().startswith("Not changed: ") and reset.isVisible()
    reset.password.first.setText("a long enough one")
    reset.password.second.setText("a long enough one")
    with qtbot.waitSignal(reset.accepted, timeout=10000):
        reset.ok.click()
    _settled(users, qtbot)


def test_the_last_administrator_cannot_disable_itself_and_says_why(
    window: MainWindow, qtbot: QtBot
) -> None:
    log_in(window, qtbot, ADMIN, ADMIN_PASSWORD)
    users = window.accounts.menu.show_users()
    assert users is not None
    _settled(users, qtbot)
    users.select(ADMIN)
    users.disable.click()
    qtbot.waitUntil(lambda: users.message.text().startswith("Not done: "), timeout=10000)
    assert "administrator" in users.message.text()
    assert not window.engine.accounts.account(ADMIN).disabled


def test_the_users_window_closes_when_the_administrator_logs_out(
    window: MainWindow, qtbot: QtBot
) -> None:
    log_in(window, qtbot, ADMIN, ADMIN_PASSWORD)
    users = window.accounts.menu.show_users()
    assert users is not None
    _settled(users, qtbot)
    window.accounts.bar.log_out.click()
    assert window.accounts.menu.users is None and not users.isVisible()
    assert not window.accounts.menu.users_action.isEnabled()
