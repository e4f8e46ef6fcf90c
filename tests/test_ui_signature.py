"""The signature dialog against the engine's own check (Engine.verify_signature): a
wrong password keeps it open and says so, the right one gives the Signature with the
meaning chosen; Cancel signs nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.audit import Meaning, Signature
from ald_gui.ui.main_window import MainWindow
from ald_gui.ui.signature_dialog import SignatureDialog
from tests.accounts_window import ADMIN, ADMIN_PASSWORD, administrator, console_config, open_window


@pytest.fixture
def window(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> Iterator[MainWindow]:
    w = open_window(
        console_config(sim_config), migrated_pg_dsn, tmp_path, qtbot, accounts=administrator
    )
    yield w
    w.close()


def _signed(dialog: SignatureDialog, qtbot: QtBot, password: str) -> None:
    dialog.password.setText(password)
    dialog.ok.click()
    qtbot.waitUntil(lambda: not dialog.checking, timeout=10000)


def test_a_wrong_password_signs_nothing_and_the_right_one_signs_with_the_meaning(
    window: MainWindow, qtbot: QtBot
) -> None:
    dialog = SignatureDialog(
        "abort Al2O3 v3", ADMIN, window.engine.verify_signature, Meaning.APPROVED, parent=window
    )
    dialog.open()
    assert dialog.meaning.currentText() == "approved"
    assert dialog.account.text() == ADMIN and dialog.password.text() == ""
    _signed(dialog, qtbot, "not the password")
    assert dialog.message.text() == "Not signed: wrong user name or password"
    assert dialog.isVisible() and dialog.answer is None and dialog.password.text() == ""
    dialog.meaning.setCurrentIndex(list(Meaning).index(Meaning.REVIEWED))
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        _signed(dialog, qtbot, ADMIN_PASSWORD)
    assert dialog.answer == Signature(ADMIN, "Ada Admin", Meaning.REVIEWED)
    assert window.engine.accounts.account(ADMIN).failed_logins == 0  # reset by the right one


def test_an_empty_password_is_not_sent_and_cancel_signs_nothing(
    window: MainWindow, qtbot: QtBot
) -> None:
    dialog = SignatureDialog("shelve Chamber too hot", ADMIN, window.engine.verify_signature)
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.ok.click()
    assert dialog.message.text() == "Type the account and its password to sign."
    assert not dialog.checking
    with qtbot.waitSignal(dialog.rejected, timeout=1000):
        dialog.buttons.rejected.emit()
    assert dialog.answer is None
