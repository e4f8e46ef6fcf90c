"""Logging in at the window: the first start's administrator, each refusal in words,
the change of a password an administrator set, switching user, the idle logout, a
viewer-only start. Real engine, simulator, PostgreSQL; real dialogs offscreen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Role
from ald_gui.store.accounts import AccountBook
from ald_gui.ui.login_dialogs import ChangePasswordDialog, CreateAdministratorDialog
from ald_gui.ui.main_window import MainWindow
from tests.accounts_window import (
    ADMIN,
    ADMIN_PASSWORD,
    administrator,
    console_config,
    log_in,
    login_dialog,
    open_window,
    people,
    type_login,
)


@pytest.fixture
def console(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> Iterator[Callable[..., MainWindow]]:
    """Open the window with ``accounts`` made first (and other open_window options)."""
    opened: list[MainWindow] = []

    def make(**options: Any) -> MainWindow:
        config = console_config(sim_config, **options.pop("settings", {"max_failed_logins": 2}))
        opened.append(open_window(config, migrated_pg_dsn, tmp_path, qtbot, **options))
        return opened[-1]

    yield make
    for w in opened:
        w.close()


def _with_otto_and_dora(book: AccountBook) -> None:
    ada = administrator(book)
    book.add(ada, "otto", "Otto Operator", Role.OPERATOR, "first password")
    book.add(ada, "dora", "", Role.OPERATOR, "first password")
    book.disable(ada, "dora")


def test_the_first_start_creates_the_administrator_then_logs_in(
    console: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = console()
    qtbot.waitUntil(
        lambda: isinstance(window.accounts.login.dialog, CreateAdministratorDialog), timeout=10000
    )
    create = window.accounts.login.dialog
    assert isinstance(create, CreateAdministratorDialog)
    assert create.password.first.text() == ""  # never a default
    create.user.setText(ADMIN)
    create.full_name.setText("Ada Admin")
    create.password.first.setText(ADMIN_PASSWORD)
    create.password.second.setText("another one")
    create.ok.click()
    assert create.message.text() == "The two passwords differ: type the same one twice."
    create.password.second.setText(ADMIN_PASSWORD)
    create.ok.click()
    dialog = login_dialog(window, qtbot)
    assert dialog.user.text() == ADMIN
    assert dialog.message.text() == "Administrator created: log in."
    assert window.accounts.bar.who.text() == "Nobody logged in · viewing only"
    with qtbot.waitSignal(window.accounts.session.changed, timeout=10000):
        type_login(dialog, qtbot, ADMIN, ADMIN_PASSWORD)
    assert window.accounts.bar.who.text() == "Ada Admin (ada) · administrator"
    assert window.accounts.menu.users_action.isEnabled()


def test_each_refusal_is_said_in_words_and_must_change_leads_to_a_new_password(
    console: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = console(accounts=_with_otto_and_dora)
    book = window.engine.accounts
    ada = book.account(ADMIN).actor
    dialog = login_dialog(window, qtbot)

    type_login(dialog, qtbot, "otto", "not his password")
    assert dialog.message.text() == "Not logged in: wrong user name or password"
    assert dialog.password.text() == ""
    type_login(dialog, qtbot, "otto", "still not his")
    until = book.account("otto").locked_until
    assert until is not None
    assert "the account is locked for 15 minutes" in dialog.message.text()
    type_login(dialog, qtbot, "otto", "first password")
    hhmm = until.astimezone().strftime("%H:%M")
    assert f"locked after 2 wrong passwords, until {hhmm}" in dialog.message.text()
    type_login(dialog, qtbot, "dora", "first password")
    assert "the account is disabled" in dialog.message.text()
    assert window.engine.session is None and dialog.isVisible()

    book.reset_password(ada, "otto", "a new first one")  # unlocks, must change again
    type_login(dialog, qtbot, "otto", "a new first one")
    qtbot.waitUntil(
        lambda: isinstance(window.accounts.login.dialog, ChangePasswordDialog), timeout=5000
    )
    change = window.accounts.login.dialog
    assert isinstance(change, ChangePasswordDialog) and not dialog.isVisible()
    change.current.setText("a new first one")
    change.new.first.setText("otto's own secret")
    change.new.second.setText("otto's own secret")
    change.ok.click()
    again = login_dialog(window, qtbot)
    qtbot.waitUntil(lambda: again is not dialog and again.isVisible(), timeout=10000)
    assert (
        again.user.text() == "otto" and again.message.text() == "Password changed: log in with it."
    )
    log_in(window, qtbot, "otto", "otto's own secret")
    assert window.accounts.bar.who.text() == "Otto Operator (otto) · operator"


def test_switching_user_changes_the_status_bar_and_what_is_enabled(
    console: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = console(accounts=people(("otto", Role.OPERATOR), ("vera", Role.VIEWER)))
    log_in(window, qtbot, "otto", "otto password")
    panel = window.panel
    assert panel.operator.text() == "otto"  # the next run is the person's
    assert window.accounts.bar.who.text() == "otto · operator"
    qtbot.waitUntil(panel.start_button.isEnabled, timeout=5000)
    assert not window.accounts.menu.users_action.isEnabled()
    assert "lacks the permission to manage users" in window.accounts.menu.users_action.toolTip()

    log_in(window, qtbot, "vera", "vera password")  # Switch user…
    assert window.accounts.bar.who.text() == "vera · viewer"
    assert not panel.start_button.isEnabled()
    assert panel.start_button.toolTip().startswith(
        "vera (viewer) lacks the permission to start a run"
    )
    assert window.accounts.bar.switch.isVisible() and not window.accounts.bar.log_in.isVisible()

    window.accounts.bar.log_out.click()
    assert window.engine.session is None
    assert window.accounts.bar.who.text() == "Nobody logged in · viewing only"
    assert not panel.start_button.isEnabled()


def test_a_viewer_only_start_offers_log_in_and_shows_nothing_enabled(
    console: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = console(settings={"start_as": "viewer"}, accounts=administrator)
    qtbot.waitUntil(lambda: window.trends.point_count() > 0, timeout=5000)
    assert window.accounts.login.dialog is None
    assert window.accounts.bar.log_in.isVisible()
    window.panel.operator.setText("ada")
    assert not window.panel.start_button.isEnabled()
    log_in(window, qtbot, ADMIN, ADMIN_PASSWORD)
    assert window.panel.start_button.isEnabled()


def test_idle_logout_drops_to_the_login_while_the_console_records_on(
    console: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = console(accounts=administrator, idle_ms=400)
    log_in(window, qtbot, ADMIN, ADMIN_PASSWORD)
    assert window.accounts.session.idle.watching
    with qtbot.waitSignal(window.accounts.session.logged_out, timeout=5000) as out:
        pass
    assert out.args == ["Logged out after 0.4 s without input"]
    assert window.engine.session is None
    assert window.accounts.bar.who.text() == "Nobody logged in · viewing only"
    dialog = login_dialog(window, qtbot)
    assert dialog.isVisible() and "without input" in dialog.message.text()
    # The console records on: samples keep coming after the logout.
    with qtbot.waitSignal(window.engine.sampled, timeout=5000):
        pass
    assert window.engine.poller is not None and window.engine.poller.isRunning()
